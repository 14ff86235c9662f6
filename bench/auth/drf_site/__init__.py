"""The comparison endpoints built with Django REST Framework and djangorestframework-api-key."""
