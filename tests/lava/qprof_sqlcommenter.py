"""Django middleware that tags every SQL statement with the request behind it.

Each statement a request runs gets a sqlcommenter comment appended, e.g.

    SELECT ... /*controller='JobViewSet',method='GET',route='%2Fapi%2F...'*/

which pg_qprof parses into the `tags` of the sample. Keys are sorted and
values URL-encoded, as the sqlcommenter specification says.

Every statement of one request carries the same W3C `traceparent`
(00-<trace id>-<span id>-01): the request's own, or one made up for it when
the client sent none. `qprof report` groups executions by it to find a
request that runs the same statement many times (N+1). The comment must fit
the 256 bytes a sample keeps of it (a longer one loses its last pairs, and
traceparent sorts last), so the framework's name, constant for the whole
kit, is not sent.

The route is the request path with the values captured by the URL pattern
replaced by their names (/scheduler/job/1234 -> /scheduler/job/<pk>), so
that one route groups every request of one page kind. XML-RPC requests all
go to /RPC2; their controller is the remote method called.
"""

import re
import secrets
import xmlrpc.client
from urllib.parse import quote

from django.db import connection
from django.urls import Resolver404, resolve

# version 00: trace id (32 hex digits, not all zero), parent span id (16)
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")

# Captured values that are not identifiers: keep them in the route.
_KEPT_CAPTURES = {"version"}


def _route_and_controller(request):
    path = request.path_info
    try:
        match = resolve(path)
    except Resolver404:
        return path, "unresolved", None

    captured = {
        str(value): name
        for name, value in match.kwargs.items()
        if name not in _KEPT_CAPTURES and value not in (None, "")
    }
    captured.update({str(value): "arg" for value in match.args if value not in (None, "")})
    segments = [f"<{captured[s]}>" if s in captured else s for s in path.split("/")]
    route = "/".join(segments)

    view = match.func
    controller = getattr(view, "view_class", view).__name__
    # Django REST framework viewsets map the method to an action (list, retrieve).
    actions = getattr(view, "actions", None) or {}
    action = actions.get(request.method.lower())
    return route, controller, action


def _xmlrpc_method(request):
    """Name of the remote method of an XML-RPC call; None when not parseable."""
    try:
        # request.body is cached, so the XML-RPC view can still read it.
        _params, method = xmlrpc.client.loads(request.body)
        return method
    except Exception:  # a malformed call is the view's business, not ours
        return None


def _traceparent(request):
    """The request's W3C traceparent: the client's trace id, if it sent a
    valid one, under a new span for this request; else a new trace."""
    match = _TRACEPARENT.match(request.META.get("HTTP_TRACEPARENT", "").strip().lower())
    trace_id = match.group(1) if match and match.group(1) != "0" * 32 else secrets.token_hex(16)
    return f"00-{trace_id}-{secrets.token_hex(8)}-01"


def _comment(tags):
    pairs = (
        f"{quote(key, safe='')}='{quote(str(value), safe='')}'"
        for key, value in sorted(tags.items())
        if value is not None
    )
    return "/*" + ",".join(pairs) + "*/"


class SqlCommenterMiddleware:
    """Appends the request's sqlcommenter tags to each statement it runs.

    Not tagged: statements run while a response is streamed, after the view
    returned; what psycopg2 sends on its own (SET TIME ZONE on connecting,
    BEGIN, COMMIT); and what PostgreSQL runs itself, such as the checks of
    deferred foreign keys at commit.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        route, controller, action = _route_and_controller(request)
        if request.method == "POST" and route.rstrip("/").endswith("/RPC2"):
            controller = _xmlrpc_method(request) or controller
        comment = _comment(
            {
                "route": route,
                "controller": controller,
                "action": action,
                "method": request.method,
                "traceparent": _traceparent(request),
            }
        )
        # psycopg2 interpolates parameters with %: a statement that has
        # parameters needs the comment's % (from URL-encoding) doubled.
        comment_with_parameters = comment.replace("%", "%%")

        def tag_statement(execute, sql, params, many, context):
            if isinstance(sql, str):
                uses_parameters = many or params is not None
                sql = f"{sql} {comment_with_parameters if uses_parameters else comment}"
            return execute(sql, params, many, context)

        with connection.execute_wrapper(tag_statement):
            return self.get_response(request)
