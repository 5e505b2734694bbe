"""WSGI entry point, for plain HTTP hosting; the phone line needs ASGI (see asgi.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealership.settings")

application = get_wsgi_application()
