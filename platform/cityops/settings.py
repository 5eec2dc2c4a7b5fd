"""Settings, all from environment variables (see README "Configuration").

CITYOPS_ENV=production switches on the HTTPS-only settings that `check --deploy` asks for.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

ROOT_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(os.environ.get("CITYOPS_VAR_DIR", ROOT_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PRODUCTION = os.environ.get("CITYOPS_ENV", "demo") == "production"
DEBUG = env_bool("CITYOPS_DEBUG", False)

_DEV_SECRET = "cityops-insecure-demo-key-set-CITYOPS_SECRET_KEY-in-production"  # noqa: S105
SECRET_KEY = os.environ.get("CITYOPS_SECRET_KEY", "" if PRODUCTION else _DEV_SECRET)
# Production refuses to start on a secret anyone can read here or guess, or with debug pages on.
if PRODUCTION and (SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
    raise RuntimeError(
        "CITYOPS_SECRET_KEY must be set to a random value of at least 50 characters when CITYOPS_ENV=production "
        "(e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(64))')"
    )
if PRODUCTION and DEBUG:
    raise RuntimeError("CITYOPS_DEBUG must be off when CITYOPS_ENV=production")

ALLOWED_HOSTS = env_list("CITYOPS_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CITYOPS_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "axes",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework_gis",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "procrastinate.contrib.django",
    "core",
    "gis.apps.GisConfig",
    "grid",
    "pipelines_mgmt",
    "dispatch",
    "leader",
    "notify",
    "resources",
    "duty",
    "emergency",
    "drills",
    "transport",
    "fences",
    "trips",
    "crews",
    "exchange",
    "patrol",
    "frontend",
]

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
    "core.middleware.ControlCharactersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.InterfaceLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "core.middleware.ApiErrorsMiddleware",
    "core.home_view.BaseLayerPolicyMiddleware",  # inside CSPMiddleware: widens a map page's policy before it is sent
]

ROOT_URLCONF = "cityops.urls"
ASGI_APPLICATION = "cityops.asgi.application"
WSGI_APPLICATION = "cityops.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [ROOT_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "core.navigation.consoles",
                "core.home_view.home_view",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "postgis://cityops@127.0.0.1:55432/cityops"),
        engine="django.contrib.gis.db.backends.postgis",
        conn_max_age=int(os.environ.get("CITYOPS_DB_CONN_MAX_AGE", "0")),
    )
}
# Under ASGI every request runs in a new context, so CONN_MAX_AGE keeps nothing and each request would open a
# PostgreSQL connection (~5-30 ms); the web server runs with a pool of connections per process instead.
# A new connection gives up after CITYOPS_DB_CONNECT_TIMEOUT seconds, so an outage fails requests fast (and the
# health check says so) instead of hanging them.
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = int(
    os.environ.get("CITYOPS_DB_CONNECT_TIMEOUT", "3")
)
# Prepared statements for the few hot reads that ask for them (core/prepared.py), each planned once: Django's own
# cursors bind on the client and never prepare, so neither setting changes how they run.
DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5
DATABASES["default"]["OPTIONS"]["options"] = " ".join(
    filter(None, [DATABASES["default"]["OPTIONS"].get("options"), "-c plan_cache_mode=force_generic_plan"])
)
if env_bool("CITYOPS_DB_POOL", False):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Each connection is checked before it is lent (a SELECT 1 on an idle one): after PostgreSQL restarts, the pool
    # replaces its dead connections instead of failing the requests that get them; a request waits at most
    # CITYOPS_DB_POOL_WAIT seconds for a free connection.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # Django hands the pool psycopg's check_connection
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": 2,
        "max_size": int(os.environ.get("CITYOPS_DB_POOL_MAX", "20")),
        "timeout": float(os.environ.get("CITYOPS_DB_POOL_WAIT", "5")),
    }
# Lets parallel test runs on one server use separate test databases (default: test_<name>).
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("CITYOPS_TEST_DATABASE")}
# A second connection to the same database: a background job writes its progress through it, outside the
# import's own transaction, so others see it move while the import stays all-or-nothing (core/jobs.py).
DATABASES["progress"] = DATABASES["default"] | {
    "OPTIONS": {"connect_timeout": DATABASES["default"]["OPTIONS"]["connect_timeout"]}  # no pool: one writer
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:56379/0")
# Redis pub/sub: a group message is one PUBLISH that each web process receives once and hands to its own
# consoles in memory, so 200 walls cost one Redis message, not 200 (bench/bench_ws_latency.py). Pub/sub
# delivers at most once; every event carries its seq and consoles catch up from the event log.
# redis-py 8 reads with a 5 s socket timeout by default, which kills an idle console's subscription
# (django/channels_redis#422): the layer's connections wait without a client-side timeout.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "core.channel_layer.SharedDecodePubSubChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "address": REDIS_URL,
                    "socket_timeout": float(os.environ.get("CITYOPS_REDIS_SOCKET_TIMEOUT", "0")) or None,
                }
            ],
            "prefix": os.environ.get("CITYOPS_CHANNEL_PREFIX", "cityops"),
        },
    }
}

# Sessions are read on every request: from Redis, written through to the database so a Redis restart signs
# nobody out. The default cache stays per process (leader/cache.py).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "sessions": {
        "BACKEND": "core.session_cache.SessionCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "session",
        # Redis away: a session call gives up quickly and the database answers (core/session_cache.py).
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    },
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_CACHE_ALIAS = "sessions"
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "core.auth.UserWithRolesBackend"]
# Password guessing (django-axes): an account is locked for AXES_COOLOFF_TIME after AXES_FAILURE_LIMIT failed
# sign-ins in a row, on the login form and on HTTP Basic (OGC API clients) alike; failures are kept in the
# database (admin → Axes) and a success resets the count.
AXES_FAILURE_LIMIT = int(os.environ.get("CITYOPS_LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("CITYOPS_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "core.auth.locked_out"
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": int(os.environ.get("CITYOPS_PASSWORD_MIN_LENGTH", "12"))},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "core.passwords.CharacterKindsValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [ROOT_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"  # shown to people; stored in UTC (USE_TZ)
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [
    ROOT_DIR / "frontend" / "static",
    ("vendor/maplibre-gl", ROOT_DIR / "frontend" / "node_modules" / "maplibre-gl" / "dist"),
    ("vendor/ol", ROOT_DIR / "frontend" / "node_modules" / "ol"),
]
# Serve straight from the finders: no collectstatic step to forget on a fresh machine.
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api_errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser", "core.parsers.FormParser", "core.parsers.MultiPartParser"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CityOps API",
    "DESCRIPTION": "城市运行与应急指挥平台 API: 数字城管, 管线, 车辆定位, 应急联动.",
    "VERSION": "0.1.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # One schema name for the 110/119/120/122 agency codes, wherever a field takes one.
    "ENUM_NAME_OVERRIDES": {
        "AgencyCodeEnum": ["110", "119", "120", "122"],
        "ShelterStatusEnum": "resources.models.Shelter.Status",
        "CommandKindEnum": [
            "text", "position_query", "tracking", "set_params", "query_params", "call_back", "vehicle_control"
        ],
    },
}

# --- Content-Security-Policy (django-csp) -------------------------------------------------------------------------
# No page runs inline script: page scripts are static modules, MapLibre is imported by its static URL (no import
# map), the API docs load Swagger UI's set-up as a file (SpectacularSwaggerSplitView). 'self' also admits
# WebSockets to the page's own host (CSP Level 3), which is all the live feed uses. Styles: MapLibre and the
# consoles set element styles from script (CSSOM, which CSP does not restrict) and need nothing more; inline
# styles are allowed for the pages that carry <style> elements (the repair order's print page and its server-drawn
# SVG map, the API docs): a style runs no code. Map reports (leader/reports.py) carry their own sandboxed policy.
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "csp.middleware.CSPMiddleware")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'"],  # MapLibre's worker is a module file beside it; the tablet's service worker
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# --- end Content-Security-Policy ----------------------------------------------------------------------------------

# Metric work (lengths, buffers, clearances) happens in this projected CRS; demo: CGCS2000 3° GK CM 114°E.
CITYOPS_METRIC_SRID = int(os.environ.get("CITYOPS_METRIC_SRID", "4547"))
# A point (incident or unit) farther than this from every road is flagged "off the network" (metres): it is still
# routed from its nearest roads, with the distance shown to the dispatcher.
CITYOPS_OFF_NETWORK_M = float(os.environ.get("CITYOPS_OFF_NETWORK_M", "100"))
# How often a console connection checks the event log head for events whose fan-out was lost.
CITYOPS_WS_CATCHUP_SECONDS = float(os.environ.get("CITYOPS_WS_CATCHUP_SECONDS", "5"))
CITYOPS_JT808_PORT = int(os.environ.get("CITYOPS_JT808_PORT", "6808"))
# Live consoles: sockets one user may hold open across all web processes, and the largest message a console may
# send. A socket's lease (core.socket_leases) is renewed with each head check, and lapses this long after its
# process died: keep it several times CITYOPS_WS_CATCHUP_SECONDS.
CITYOPS_WS_PER_USER = int(os.environ.get("CITYOPS_WS_PER_USER", "20"))
CITYOPS_WS_LEASE_SECONDS = int(os.environ.get("CITYOPS_WS_LEASE_SECONDS", "30"))
CITYOPS_WS_MAX_MESSAGE_BYTES = 16 * 1024
# A JT/T 808 connection that sends nothing (no position, no heartbeat) for this long is closed.
CITYOPS_JT808_IDLE_SECONDS = float(os.environ.get("CITYOPS_JT808_IDLE_SECONDS", "180"))
# Where the servers listen (bin/cityops and run_gps_ingest read these): every interface by default, because
# terminals connect from the mobile network and consoles from the intranet; a proxy in front may want 127.0.0.1.
CITYOPS_WEB_HOST = os.environ.get("CITYOPS_WEB_HOST", "0.0.0.0")  # noqa: S104
CITYOPS_JT808_HOST = os.environ.get("CITYOPS_JT808_HOST", "0.0.0.0")  # noqa: S104
# GPS device limits (dispatch/device_security.py, shared by all processes through Redis). OsmAnd, in `limits`
# notation: a phone reports at 1-5 Hz, so 10/second per device token leaves room to send a backlog after a dead
# spot at twice the fastest rate; 1500/second per source address lets a fleet of a few hundred phones behind one
# NAT (a depot, a carrier's CGNAT) report at 5 Hz, and still stops one address from flooding the track table.
CITYOPS_OSMAND_DEVICE_RATE = os.environ.get("CITYOPS_OSMAND_DEVICE_RATE", "10/second")
CITYOPS_OSMAND_ADDRESS_RATE = os.environ.get("CITYOPS_OSMAND_ADDRESS_RATE", "1500/second")
# JT/T 808: this many wrong auth codes or refused registrations from one address, or for one terminal phone, within
# the back-off period cut the address off for that period (raised once as an alarm). A real terminal authenticates
# once per connection with the code it stored, so a handful of failures is a reset terminal or someone guessing.
CITYOPS_JT808_AUTH_FAILURE_LIMIT = int(os.environ.get("CITYOPS_JT808_AUTH_FAILURE_LIMIT", "5"))
CITYOPS_JT808_AUTH_BACKOFF_MINUTES = int(os.environ.get("CITYOPS_JT808_AUTH_BACKOFF_MINUTES", "15"))
# Concurrent JT/T 808 connections from one address per ingest process: room for a depot's or a carrier NAT's few
# hundred terminals, and one address cannot hold the process's file descriptors (1024 by default) alone.
CITYOPS_JT808_CONNECTIONS_PER_ADDRESS = int(os.environ.get("CITYOPS_JT808_CONNECTIONS_PER_ADDRESS", "500"))
# Load balancers in front of the JT/T 808 ingest (HAProxy `send-proxy`): a connection from one of these addresses
# starts with a PROXY protocol v1 line naming the terminal's address, which the limits, alarms and logs then use.
CITYOPS_JT808_TRUSTED_PROXIES = frozenset(env_list("CITYOPS_JT808_TRUSTED_PROXIES", ""))
# JT/T 809 main link (transport/link.py), the same guards with their own values: a lower platform holds one main link
# (a few while it reconnects), so a handful per address; failed logins (unknown access code, address not on the
# platform's list, wrong user or password) from one address or for one access code cut the address off; the
# balancers in front of the link, if any (the 808 list is not reused: the provincial link may enter elsewhere).
CITYOPS_JT809_CONNECTIONS_PER_ADDRESS = int(os.environ.get("CITYOPS_JT809_CONNECTIONS_PER_ADDRESS", "8"))
CITYOPS_JT809_LOGIN_FAILURE_LIMIT = int(os.environ.get("CITYOPS_JT809_LOGIN_FAILURE_LIMIT", "5"))
CITYOPS_JT809_LOGIN_BACKOFF_SECONDS = int(os.environ.get("CITYOPS_JT809_LOGIN_BACKOFF_SECONDS", "900"))
CITYOPS_JT809_TRUSTED_PROXIES = frozenset(env_list("CITYOPS_JT809_TRUSTED_PROXIES", ""))
# Web process: threads that run Django's HTTP requests (core/http_bridge.py; keep below the database pool size),
# and async database connections for the vector tiles served on the event loop (gis/tile_server.py).
CITYOPS_HTTP_THREADS = int(os.environ.get("CITYOPS_HTTP_THREADS", "16"))
CITYOPS_TILE_DB_POOL = int(os.environ.get("CITYOPS_TILE_DB_POOL", "4"))
# Demo accounts exist only after `load_demo_city`; their shared password.
CITYOPS_DEMO_PASSWORD = os.environ.get("CITYOPS_DEMO_PASSWORD", "cityops-demo")
# System health (core/health.py): the probes' timeout; the replication lag above which the database is degraded;
# the bearer token that Prometheus sends to /metrics (unset: /metrics is off; a city does not publish it).
CITYOPS_HEALTH_TIMEOUT_S = float(os.environ.get("CITYOPS_HEALTH_TIMEOUT_S", "1"))
# A replicated installation's HAProxy statistics page: system health shows its web and ingest nodes as the load
# balancer's checks see them (empty on a single node).
CITYOPS_HAPROXY_STATS_URL = os.environ.get("CITYOPS_HAPROXY_STATS_URL", "")
CITYOPS_HEALTH_MAX_LAG_S = float(os.environ.get("CITYOPS_HEALTH_MAX_LAG_S", "5"))
CITYOPS_METRICS_TOKEN = os.environ.get("CITYOPS_METRICS_TOKEN", "")

# One line per record: time, level, logger, request id (core.log_context), message.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.log_context.RequestIdFilter"}},
    "formatters": {"line": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": "line"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CITYOPS_LOG_LEVEL", "INFO")},
    # procrastinate announces its task registry at every start of every command; its workers' job logs stay.
    "loggers": {name: {"level": "WARNING"} for name in ("procrastinate.blueprints", "procrastinate.periodic")},
}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("CITYOPS_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("CITYOPS_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("CITYOPS_HSTS_PRELOAD", True)

# gis.W001: Debian 12 ships GDAL 3.6, which cannot block file/network access from spatial-reference text.
# CityOps never passes user text to GDAL as an SRS: `crs` inputs are names or EPSG integers parsed by
# pyproj (core/geo.py). Revisit when the platform moves to GDAL >= 3.9 (README, "Deployment checks").
# axes.W006: accounts are locked by user name whatever the address, so rotating addresses, agents or cookies gains
# nothing; locking by address too would lock out a whole command centre behind one intranet NAT.
SILENCED_SYSTEM_CHECKS = ["gis.W001", "axes.W006"]

# Request bodies: refused with a 413 while they arrive, before anything reads or authenticates them
# (core/http_bridge.py). Larger limits only where uploads belong: path prefix → bytes.
CITYOPS_MAX_BODY_BYTES = int(float(os.environ.get("CITYOPS_MAX_BODY_MB", "4")) * 2**20)
# Costly work running at once in the whole installation (core/limits.py): layer exports and Chromium report renders.
CITYOPS_CONCURRENT_LIMITS = {
    "export": int(os.environ.get("CITYOPS_CONCURRENT_EXPORTS", "2")),
    "render": int(os.environ.get("CITYOPS_CONCURRENT_RENDERS", "2")),
}
CITYOPS_IMPORT_MAX_BYTES = int(float(os.environ.get("CITYOPS_IMPORT_MAX_MB", "100")) * 2**20)
# Background jobs (procrastinate, core/jobs.py): a worker beats every 5 s; one silent for 20 s is taken for dead
# and its job is run again. One job at a time per worker: imports are heavy. A stopping worker gives its job 10 s
# to reach a point where it can stop (supervisord and systemd wait 15 s before they kill it).
PROCRASTINATE_WORKER_DEFAULTS = {
    "update_heartbeat_interval": 5,
    "stalled_worker_timeout": 20,
    "concurrency": 1,
    "shutdown_graceful_timeout": 10,
}

# 数字城管: the largest accepted case photo, the organisation code of the supervision and command centre
# (it sees every case event), an optional working-calendar JSON file (grid/calendar.py from_config) and
# Open311 API keys ("name:key,name:key"; clients can also be added as grid.Open311Client rows).
CITYOPS_GRID_MAX_PHOTO_BYTES = int(float(os.environ.get("CITYOPS_GRID_MAX_PHOTO_MB", "8")) * 2**20)
CITYOPS_GRID_PHOTOS_PER_REQUEST = 4
CITYOPS_BODY_LIMITS = {  # an upload's file, plus 1 MiB for the multipart form around it
    "/api/gis/imports/": CITYOPS_IMPORT_MAX_BYTES + 2**20,
    "/api/pipelines/networks/import/": CITYOPS_IMPORT_MAX_BYTES + 2**20,
    "/api/core/jobs/": CITYOPS_IMPORT_MAX_BYTES + 2**20,
    "/api/grid/cases/": CITYOPS_GRID_PHOTOS_PER_REQUEST * CITYOPS_GRID_MAX_PHOTO_BYTES + 2**20,
    "/api/exchange/tasks/": 64 * 2**10,  # a task sent down is a few hundred bytes of JSON
}
CITYOPS_GRID_CENTRE = os.environ.get("CITYOPS_GRID_CENTRE", "SZ-UMC")
CITYOPS_GRID_CALENDAR = os.environ.get("CITYOPS_GRID_CALENDAR", "")
CITYOPS_OPEN311_KEYS = env_list("CITYOPS_OPEN311_KEYS", "")
# The case channels whose requests Open311 shows the public (open311, hotline, inspector); inspectors' internal
# reports are not public unless the city says so.
CITYOPS_OPEN311_PUBLIC_CHANNELS = env_list("CITYOPS_OPEN311_PUBLIC_CHANNELS", "open311")

# Notifications (notify/): e-mail through an SMTP server, SMS through an SMPP 3.4 gateway. A channel whose host is
# empty is "not configured": its deliveries fail at once with that reason (in-app always works). A delivery the
# channel did not accept is tried again after CITYOPS_NOTIFY_RETRY_SECONDS × 2^(attempt-1), at most
# CITYOPS_NOTIFY_MAX_ATTEMPTS times. CITYOPS_CAP_SENDER names this platform in its CAP 1.2 public warnings.
CITYOPS_SMTP_HOST = os.environ.get("CITYOPS_SMTP_HOST", "")
CITYOPS_SMTP_PORT = int(os.environ.get("CITYOPS_SMTP_PORT", "25"))
CITYOPS_SMTP_USER = os.environ.get("CITYOPS_SMTP_USER", "")
CITYOPS_SMTP_PASSWORD = os.environ.get("CITYOPS_SMTP_PASSWORD", "")
CITYOPS_SMTP_TLS = env_bool("CITYOPS_SMTP_TLS", False)
CITYOPS_MAIL_FROM = os.environ.get("CITYOPS_MAIL_FROM", "cityops@localhost")
CITYOPS_SMS_HOST = os.environ.get("CITYOPS_SMS_HOST", "")
CITYOPS_SMS_PORT = int(os.environ.get("CITYOPS_SMS_PORT", "2775"))
CITYOPS_SMS_SYSTEM_ID = os.environ.get("CITYOPS_SMS_SYSTEM_ID", "cityops")
CITYOPS_SMS_PASSWORD = os.environ.get("CITYOPS_SMS_PASSWORD", "cityops")
CITYOPS_SMS_SOURCE_ADDR = os.environ.get("CITYOPS_SMS_SOURCE_ADDR", "cityops")
CITYOPS_NOTIFY_MAX_ATTEMPTS = int(os.environ.get("CITYOPS_NOTIFY_MAX_ATTEMPTS", "5"))
CITYOPS_NOTIFY_RETRY_SECONDS = float(os.environ.get("CITYOPS_NOTIFY_RETRY_SECONDS", "10"))
CITYOPS_CAP_SENDER = os.environ.get("CITYOPS_CAP_SENDER", "cityops@localhost")

# Upward exchange (exchange/, 数据交换) with the provincial/national 城市运行管理服务平台: case records are POSTed to
# CITYOPS_EXCHANGE_URL with "Authorization: Bearer CITYOPS_EXCHANGE_TOKEN" (off, and nothing recorded, while the URL
# is empty); CITYOPS_EXCHANGE_PLATFORM_CODE names this platform in each record. A failed try is repeated after
# CITYOPS_EXCHANGE_RETRY_SECONDS × 2^(attempts-1), at most CITYOPS_EXCHANGE_RETRY_MAX_SECONDS apart. Tasks sent down
# must carry "Authorization: Bearer CITYOPS_EXCHANGE_TASK_TOKEN" (refused while it is empty).
CITYOPS_EXCHANGE_URL = os.environ.get("CITYOPS_EXCHANGE_URL", "")
CITYOPS_EXCHANGE_TOKEN = os.environ.get("CITYOPS_EXCHANGE_TOKEN", "")
CITYOPS_EXCHANGE_TASK_TOKEN = os.environ.get("CITYOPS_EXCHANGE_TASK_TOKEN", "")
CITYOPS_EXCHANGE_PLATFORM_CODE = os.environ.get("CITYOPS_EXCHANGE_PLATFORM_CODE", "")
CITYOPS_EXCHANGE_TIMEOUT_S = float(os.environ.get("CITYOPS_EXCHANGE_TIMEOUT_S", "10"))
CITYOPS_EXCHANGE_RETRY_SECONDS = float(os.environ.get("CITYOPS_EXCHANGE_RETRY_SECONDS", "5"))
CITYOPS_EXCHANGE_RETRY_MAX_SECONDS = float(os.environ.get("CITYOPS_EXCHANGE_RETRY_MAX_SECONDS", "600"))
