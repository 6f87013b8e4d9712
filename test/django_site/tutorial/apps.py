from django.apps import AppConfig


class TutorialConfig(AppConfig):
    name = "tutorial"
    # Explicit, so every Django from 3.2 to 5.2 builds the same `id` column (INTEGER, not BIGINT).
    default_auto_field = "django.db.models.AutoField"
