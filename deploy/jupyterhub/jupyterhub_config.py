# JupyterHub configuration for the course: local unix users on one server.
#
#     sudo COURSE_HUB_ROOT=/srv/nbgrader .venv/bin/jupyterhub -f deploy/jupyterhub/jupyterhub_config.py
#
# Run it as root, from the course's virtual environment, after
# ``deploy/jupyterhub/setup_course.py`` has written ``$COURSE_HUB_ROOT/course.json``
# (who teaches, who studies, where the course folder, the exchange and the data are).
# See deploy/jupyterhub/README.md.
#
# Everything site-specific comes from course.json or from these environment variables:
#
#   COURSE_HUB_ROOT           the folder setup_course.py prepared (default /srv/nbgrader)
#   COURSE_HUB_STATE_DIR      the Hub's database and cookie secret (default /srv/jupyterhub)
#   COURSE_HUB_BIND_URL       where the proxy listens (default http://127.0.0.1:8000; put a
#                             TLS-terminating reverse proxy in front, or an https:// URL
#                             with c.JupyterHub.ssl_key / ssl_cert)
#   COURSE_HUB_HUB_PORT       the Hub's own API, 127.0.0.1 only (default 8081)
#   COURSE_HUB_PROXY_API_PORT configurable-http-proxy's REST API, 127.0.0.1 only (default 8001)
#   COURSE_HUB_PROXY_COMMAND  configurable-http-proxy's executable (default: found on PATH)
#   COURSE_HUB_AUTHENTICATOR  "pam" (default: unix passwords) or "shared-password" (demos and
#                             tests: every listed user logs in with COURSE_HUB_SHARED_PASSWORD)
#   COURSE_HUB_REPORT_PORT    the class report service, 127.0.0.1 only (default 8082)
#   COURSE_HUB_API_TOKEN      optional: a token for a "course-admin" service that may manage
#                             users, servers and tokens through the Hub's REST API (automation)
import json
import os

c = get_config()  # noqa: F821  (injected by JupyterHub)

ROOT = os.environ.get("COURSE_HUB_ROOT", "/srv/nbgrader")
with open(os.path.join(ROOT, "course.json")) as f:
    COURSE = json.load(f)

INSTRUCTORS = set(COURSE["instructors"])
STUDENTS = set(COURSE["students"])
# The course's Python environment, as every user can run it (setup_course.py checked).
VENV_BIN = COURSE["python_bin"]

# ---- network: everything on loopback unless the bind URL says otherwise
c.JupyterHub.bind_url = os.environ.get("COURSE_HUB_BIND_URL", "http://127.0.0.1:8000")
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("COURSE_HUB_HUB_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:%s" % os.environ.get("COURSE_HUB_PROXY_API_PORT", "8001")
c.ConfigurableHTTPProxy.command = [os.environ.get("COURSE_HUB_PROXY_COMMAND", "configurable-http-proxy")]
c.ConfigurableHTTPProxy.should_start = True
# Stop the proxy and every single-user server when the Hub stops.
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

STATE = os.environ.get("COURSE_HUB_STATE_DIR", "/srv/jupyterhub")
os.makedirs(STATE, mode=0o700, exist_ok=True)
c.JupyterHub.db_url = "sqlite:///" + os.path.join(STATE, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(STATE, "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(STATE, "jupyterhub.pid")

# ---- who may log in
if os.environ.get("COURSE_HUB_AUTHENTICATOR", "pam") == "shared-password":
    c.JupyterHub.authenticator_class = "jupyterhub.authenticators.shared.SharedPasswordAuthenticator"
    c.SharedPasswordAuthenticator.user_password = os.environ["COURSE_HUB_SHARED_PASSWORD"]
else:
    c.JupyterHub.authenticator_class = "jupyterhub.auth.PAMAuthenticator"
c.Authenticator.allowed_users = INSTRUCTORS | STUDENTS

c.JupyterHub.services = []
c.JupyterHub.load_roles = []
token = os.environ.get("COURSE_HUB_API_TOKEN")
if token:
    c.JupyterHub.services.append({"name": "course-admin", "api_token": token})
    c.JupyterHub.load_roles.append({
        "name": "course-admin",
        "scopes": ["admin:users", "admin:servers", "tokens", "list:users", "read:users", "access:servers"],
        "services": ["course-admin"],
    })

# ---- feedback on submit: a service the Hub starts (and starts again should it exit) as the
# instructor, who owns the course folder and the exchange's inbox; see feedback_service.py.
# The Hub makes its API token; its role lets it read nothing but users' names.
FEEDBACK_ON_SUBMIT = COURSE.get("feedback_on_submit", {})
if FEEDBACK_ON_SUBMIT.get("enabled"):
    c.JupyterHub.services.append({
        "name": "feedback-on-submit",
        "user": COURSE["instructors"][0],
        "command": [os.path.join(VENV_BIN, "python"), os.path.join(os.path.dirname(__file__), "feedback_service.py")],
        "cwd": COURSE["course_dir"],
        "environment": {
            "PATH": os.pathsep.join([VENV_BIN, "/usr/local/bin", "/usr/bin", "/bin"]),
            "MNIST_DIR": COURSE["data_dir"],
            "COURSE_HUB_ROOT": ROOT,
        },
    })
    c.JupyterHub.load_roles.append({
        "name": "feedback-on-submit",
        "scopes": ["read:users:name"],
        "services": ["feedback-on-submit"],
    })

# ---- the class report: instructors only, at /services/class-report/ (report_service.py), run as
# the instructor, who owns the course folder it reads; the Hub's OAuth lets only the course's
# instructors through to it (the service checks again, and answers anyone else 403).
REPORT_PORT = int(os.environ.get("COURSE_HUB_REPORT_PORT", "8082"))
c.JupyterHub.services.append({
    "name": "class-report",
    "url": "http://127.0.0.1:%d" % REPORT_PORT,
    "user": COURSE["instructors"][0],
    "command": [os.path.join(VENV_BIN, "python"), os.path.join(os.path.dirname(__file__), "report_service.py")],
    "cwd": COURSE["course_dir"],
    "environment": {
        "PATH": os.pathsep.join([VENV_BIN, "/usr/local/bin", "/usr/bin", "/bin"]),
        "COURSE_HUB_ROOT": ROOT,
    },
    "oauth_no_confirm": True,
    "display": True,
})
c.JupyterHub.load_roles.append({
    "name": "class-report-readers",
    "scopes": ["access:services!service=class-report"],
    "users": sorted(INSTRUCTORS),
})

# ---- single-user servers: each runs as its unix user, in the course's environment
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [os.path.join(VENV_BIN, "jupyterhub-singleuser")]
c.Spawner.ip = "127.0.0.1"
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {
    # nbgrader calls `alembic` by name; kernels and nbgrader run from the course's venv
    "PATH": os.pathsep.join([VENV_BIN, "/usr/local/bin", "/usr/bin", "/bin"]),
    # the MNIST files, readable by everyone (mnist_course.load_mnist looks here first)
    "MNIST_DIR": COURSE["data_dir"],
}


def role_of(username: str) -> str:
    return "instructor" if username in INSTRUCTORS else "student"


def pre_spawn_hook(spawner):
    """Instructors get the formgrader and the course's grading configuration; students the
    assignment list only. Both through extra Jupyter config folders that setup_course.py wrote."""
    role = role_of(spawner.user.name)
    spawner.environment = dict(spawner.environment,
                               JUPYTER_CONFIG_PATH=os.pathsep.join(COURSE["jupyter_config_path"][role]))


c.Spawner.pre_spawn_hook = pre_spawn_hook
