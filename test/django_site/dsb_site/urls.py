from django.conf import settings
from django.urls import path

from tutorial import views as tutorial

from . import auth_views

urlpatterns = [
    # The tutorial's routes (mounted under user/ as in the tutorial's project urls).
    path("user/reg", tutorial.reg),
    path("user/login", tutorial.login),
    path("user/logout", tutorial.logout),
    path("user/test1", tutorial.test1),
    # django.contrib.auth through a small JSON API.
    path("auth/login", auth_views.auth_login),
    path("auth/whoami", auth_views.auth_whoami),
    path("auth/logout", auth_views.auth_logout),
]

if settings.TEST_HOOKS:
    # Only for the end-to-end suite; without DSB_TEST_HOOKS=1 the route does not exist (404).
    urlpatterns.append(path("auth/password", auth_views.auth_set_password))
