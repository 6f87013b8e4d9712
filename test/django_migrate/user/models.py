"""The tutorial's user model (the seed's `User.objects.get(email=...)`, bcrypt hash in `password`)."""
from django.db import models


class User(models.Model):
    class Meta:
        db_table = "user"

    id = models.AutoField(primary_key=True)
    name = models.CharField(max_length=48, null=False)
    email = models.CharField(max_length=64, unique=True, null=False)
    password = models.CharField(max_length=128, null=False)

    def __repr__(self):
        return "<User {} {}>".format(self.id, self.name)
