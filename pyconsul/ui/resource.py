"""Serving the UI on the HTTP API's port, as Consul's agent does when
``ui_config.enabled`` is set: the content path (``/ui/``) holds the app, ``/``
redirects there, ``/robots.txt`` keeps crawlers away, and every other path
goes on to the API unchanged."""

from twisted.web.resource import Resource

from pyconsul.http.plumbing import redirect
from pyconsul.http.request import decode_path, split_uri
from pyconsul.http.response import error_body
from pyconsul.ui.assets import Assets

NOT_FOUND = "404 page not found\n"  # Go's http.NotFound


def with_ui(api_resource, config):
    """The HTTP port's resource: the API's, with the UI in front when enabled."""
    if not config.ui_enabled:
        return api_resource
    return UIResource(api_resource, Assets.load(config.ui_content_path), config.ui_content_path)


def _is_clean(path):
    """Whether Go's ServeMux would leave the path as it is."""
    return "//" not in path and "/./" not in path and "/../" not in path and not path.endswith(("/.", "/.."))


class UIResource(Resource):
    isLeaf = True

    def __init__(self, api, assets, content_path):
        super().__init__()
        self.api = api
        self.assets = assets
        self.content_path = content_path

    def render(self, request):
        raw_path, raw_query = split_uri(request.uri)
        path = decode_path(raw_path)
        if path == "/":
            return redirect(request, self.content_path, b"")
        if path == "/robots.txt" and self.assets.robots is not None:
            return self._serve(request, self.assets.robots)
        if path + "/" == self.content_path:
            return redirect(request, self.content_path, raw_query)
        if path.startswith(self.content_path) and _is_clean(path):
            asset = self.assets.lookup(path[len(self.content_path):])
            if asset is None:
                return error_body(request, 404, NOT_FOUND)
            return self._serve(request, asset)
        return self.api.render(request)

    def _serve(self, request, asset):
        request.setHeader(b"content-type", asset.content_type.encode("ascii"))
        request.setHeader(b"etag", asset.etag.encode("ascii"))
        # Revalidated on every load (the ETag makes that a 304), so a new
        # version of the agent's UI is picked up at once.
        request.setHeader(b"cache-control", b"no-cache")
        request.setHeader(b"x-content-type-options", b"nosniff")
        asked = (request.getHeader(b"if-none-match") or b"").split(b",")
        if asset.etag.encode("ascii") in (tag.strip() for tag in asked):
            request.setResponseCode(304)
            return b""
        request.setHeader(b"content-length", b"%d" % len(asset.body))
        return asset.body
