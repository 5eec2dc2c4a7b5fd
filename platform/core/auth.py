"""Authentication backend that loads the signed-in user and their roles in one query.

Every API request needs both (permissions are role checks); Django's backend would read the user, and the
first role check would read the groups: two queries per request instead of one.
"""

from django.contrib.auth.backends import ModelBackend
from django.contrib.postgres.aggregates import ArrayAgg

from .models import User


class UserWithRolesBackend(ModelBackend):
    def get_user(self, user_id):
        user = User.objects.filter(pk=user_id).annotate(group_names=ArrayAgg("groups__name", default=[])).first()
        if user is None or not self.user_can_authenticate(user):
            return None
        user.set_role_names(user.group_names)
        return user
