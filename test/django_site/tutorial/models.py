from django.db import models


class User(models.Model):
    """The tutorial's own user table (`user`), separate from django.contrib.auth's `auth_user`.

    The tutorial's views use `id`, `name`, `email` (looked up with `objects.get(email=...)`, so it is
    unique) and `password` (a bcrypt hash string, 60 characters; 128 leaves room like Django's own
    password column). The lengths follow the blog project this tutorial belongs to.
    """

    id = models.AutoField(primary_key=True)
    name = models.CharField(max_length=48)
    email = models.CharField(max_length=64, unique=True)
    password = models.CharField(max_length=128)

    class Meta:
        db_table = "user"

    def __repr__(self):
        return "<User {} {} {}>".format(self.id, self.name, self.email)

    __str__ = __repr__
