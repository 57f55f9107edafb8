"""Tend's one settings module.

Every knob is read from the environment through the small typed helpers below, so a
newcomer can run Tend with no configuration at all (SQLite under ./var) and an
operator can scale it out by setting TEND_DATABASE_URL and TEND_REDIS_URL.
docs/settings.md lists every variable; keep the two in step.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import dj_database_url
from django.utils.translation import gettext_lazy as _


def env(name: str, default: str = "") -> str:
    """Read TEND_<NAME>, or the contents of the file named by TEND_<NAME>_FILE (secrets)."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text().strip()
    return os.environ.get(name, default)


def envbool(name: str, default: bool = False) -> bool:
    value = env(name, "1" if default else "0").strip().lower()
    return value in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = env(name, "")
    return int(value) if value.strip() else default


BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env("TEND_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = envbool("TEND_DEBUG", False)
SECRET_KEY = env("TEND_SECRET_KEY", "")
if not SECRET_KEY:
    # A stable per-installation key beats a hard-coded one: sessions survive restarts
    # and no two installations share a key by accident.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        import secrets

        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = [
    h.strip()
    for h in env("TEND_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]
BASE_URL = env("TEND_BASE_URL", "http://localhost:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [BASE_URL]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks_db",
    "crontask",
    "channels",
    "ninja",
    "tend.core",
    "tend.crm",
    "tend.desk",
    "tend.usage",
    "tend.mail",
    "tend.kb",
    "tend.surveys",
    "tend.health",
    "tend.success",
    "tend.portal",
    "tend.web",
    "tend.api",
    "tend.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tend.core.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # While staff view the portal as a customer, nothing may be written (POST refused).
    "tend.portal.view_as.ViewAsReadOnlyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tend.urls"
ASGI_APPLICATION = "tend.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------
DATABASE_URL = env("TEND_DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "tend.sqlite3"),
            "OPTIONS": {
                # WAL lets the web, worker and scheduler read while one writes; the
                # busy timeout makes writers queue instead of failing at once.
                # A 64 MiB page cache per connection (SQLite's default is 2 MiB) keeps
                # the indexes that every insert walks in memory: product-event
                # ingestion ran ~17 % faster with it (docs/benchmarks.md).
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; "
                    "PRAGMA cache_size=-65536;"
                ),
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
            },
            # Reopening the file and re-running the PRAGMAs for every job of the
            # database worker cost ~14% of its time.
            "CONN_MAX_AGE": 600,
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")}
            if envbool("TEND_TEST_FILE_DB")
            else {},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"

# --- background jobs, realtime -----------------------------------------------
REDIS_URL = env("TEND_REDIS_URL", "")
if REDIS_URL:
    # django-tasks-rq refuses to start unless django_rq is an installed app.
    INSTALLED_APPS.append("django_rq")
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600}}
    # Forking a child per job costs ~100 ms of CPU each here (Django re-imports, new DB
    # connections); jobs are short and idempotent, so one long-lived process wins.
    RQ = {"WORKER_CLASS": "rq.worker.SimpleWorker"}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CRONTASK = {"REDIS_URL": REDIS_URL}
    CACHES: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # The rate limiter needs a cache that every process shares, so the embedded
    # default keeps it in the same SQLite database rather than in process memory.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "tend_cache",
            # Django's default of 300 entries would cull the state of a running CSV
            # import (and rate-limit counters) once a few hundred keys exist.
            "OPTIONS": {"MAX_ENTRIES": 20000},
        }
    }

# --- auth ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:queue_default"
LOGOUT_REDIRECT_URL = "web:login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = BASE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- i18n ---------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]
# Where Tend's formats differ from Django's (zh_Hans: thousands grouped with commas).
FORMAT_MODULE_PATH = ["tend.formats"]

# --- files --------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
# WhiteNoise serves app static files through the finders; it only wants the folder
# to exist (and warns on every process start otherwise).
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MAX_ATTACHMENT_BYTES = envint("TEND_MAX_ATTACHMENT_BYTES", 20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- email --------------------------------------------------------------------
EMAIL_URL = env("TEND_EMAIL_URL", "")
DEFAULT_FROM_EMAIL = env("TEND_DEFAULT_FROM_EMAIL", "Tend <support@localhost>")
if EMAIL_URL:
    _mail = urlparse(EMAIL_URL)
    _query = {k: v[-1] for k, v in parse_qs(_mail.query).items()}
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _mail.hostname or "localhost",
                "port": _mail.port,
                "username": unquote(_mail.username or "") or None,
                "password": unquote(_mail.password or "") or None,
                "use_tls": _query.get("tls", "0") in {"1", "true"} or _mail.scheme == "smtp+tls",
                "use_ssl": _query.get("ssl", "0") in {"1", "true"} or _mail.scheme == "smtps",
                "timeout": 30,
            },
        }
    }
else:
    # With no relay configured, mail lands as files under the data directory so
    # nothing is lost and a demo user can read password-reset links.
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(DATA_DIR / "outbox")},
        }
    }

# --- desk ---------------------------------------------------------------------
TEND_AUTO_CLOSE_DAYS = envint("TEND_AUTO_CLOSE_DAYS", 4)
TEND_SUPPORT_RATE_PER_IP = envint("TEND_SUPPORT_RATE_PER_IP", 10)
TEND_SUPPORT_RATE_PER_EMAIL = envint("TEND_SUPPORT_RATE_PER_EMAIL", 5)
# Help-center limits per client address (portal/views_help.py): room for an office
# behind one address, not for a script.
TEND_HELP_SEARCH_RATE_PER_MINUTE = envint("TEND_HELP_SEARCH_RATE_PER_MINUTE", 60)
TEND_HELP_SUGGEST_RATE_PER_MINUTE = envint("TEND_HELP_SUGGEST_RATE_PER_MINUTE", 120)
TEND_HELP_VOTE_RATE_PER_HOUR = envint("TEND_HELP_VOTE_RATE_PER_HOUR", 60)
# How many reverse proxies put their address in X-Forwarded-For; 0 trusts none, so a
# client cannot dodge rate limits with a forged header.
TEND_TRUSTED_PROXY_COUNT = envint("TEND_TRUSTED_PROXY_COUNT", 0)

# --- usage --------------------------------------------------------------------
# Under a steady stream of product events, the ingest writer on SQLite counts new events
# into the daily rollups and last-seen at most this often (and when the stream pauses
# as long); counting per transaction took a third of its time. 0: every transaction.
TEND_INGEST_ROLLUP_EVERY_MS = envint("TEND_INGEST_ROLLUP_EVERY_MS", 1000)
# SQLite: while the ingest writer is busy, a request is answered once it is read and
# appended to a journal next to the database, and stored a moment later; off, every
# request waits for its commit (tend.usage.ingest_journal).
TEND_INGEST_JOURNAL = envbool("TEND_INGEST_JOURNAL", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("TEND_LOG_LEVEL", "INFO")},
}
