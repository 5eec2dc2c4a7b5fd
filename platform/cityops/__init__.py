"""CityOps Django project package."""
