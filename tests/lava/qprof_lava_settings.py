"""Django settings for running LAVA under pg_qprof.

LAVA's production settings, unchanged, plus:
  - a middleware that tags every SQL statement with the request that caused
    it (sqlcommenter), so pg_qprof can attribute database time to routes;
  - paths of the workload kit instead of /etc/lava-server and /var/lib
    (device dictionaries, health checks, job output), so that nothing is
    installed system-wide.
"""

import os

from lava_server.settings.prod import *  # noqa: F401,F403  LAVA's own settings
from lava_server.settings.prod import MIDDLEWARE, STATEMENT_TIMEOUT

# First, so that the session and authentication queries are tagged too.
MIDDLEWARE = ["qprof_sqlcommenter.SqlCommenterMiddleware"] + list(MIDDLEWARE)

_package_root = os.environ.get("QPROF_LAVA_PACKAGE_ROOT", "/")
_state_dir = os.environ.get("QPROF_LAVA_STATE_DIR", "/var/lib/lava-server")

DEVICES_PATH = os.path.join(_state_dir, "devices")
HEALTH_CHECKS_PATH = os.path.join(_state_dir, "health-checks")
DEVICE_TYPES_PATHS = [os.path.join(_package_root, "usr/share/lava-server/device-types")]
MEDIA_ROOT = os.path.join(_state_dir, "media")
STATIC_ROOT = os.path.join(_state_dir, "static")

# The kit's simulated workers report this version.
ALLOW_VERSION_MISMATCH = True

# The kit serves plain HTTP on the loopback interface: cookies must not be
# restricted to HTTPS, or no one can sign in.
CSRF_COOKIE_SECURE = False
SESSION_COOKIE_SECURE = False

# LAVA sets this statement_timeout (ms) on each web request's connection; the
# demo may lower it to make a small lab fail the way a large one does.
STATEMENT_TIMEOUT = int(os.environ.get("QPROF_LAVA_STATEMENT_TIMEOUT_MS", STATEMENT_TIMEOUT))
