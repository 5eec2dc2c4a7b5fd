"""Signing a bench client in through the real login form, as a browser does (the drills and soaks need a session and
a CSRF token for the REST API)."""

import http.client
from http.cookies import SimpleCookie
from urllib.parse import urlencode


def sign_in(port: int, username: str, password: str) -> dict:
    """Headers that carry the session cookie and CSRF token of `username` on the web server at 127.0.0.1:`port`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/login/")
    response = conn.getresponse()
    response.read()
    cookies = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        cookies.load(header)
    token = cookies["csrftoken"].value
    form = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={token}"}
    conn.request("POST", "/login/", form, headers)
    response = conn.getresponse()
    response.read()
    for header in response.headers.get_all("Set-Cookie") or []:
        cookies.load(header)
    token = cookies["csrftoken"].value
    return {"Cookie": f"csrftoken={token}; sessionid={cookies['sessionid'].value}", "X-CSRFToken": token}
