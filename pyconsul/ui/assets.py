"""The UI's files, read once from the package: what each path under the
content path answers. No I/O after loading, no Twisted."""

import hashlib
import html
import os

import attr

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")

# Go's mime table for the types the UI ships.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
    ".ico": "image/vnd.microsoft.icon",
}
DEFAULT_TYPE = "application/octet-stream"

INDEX = "index.html"
ROBOTS = "robots.txt"
# The app's own files: a missing one is a 404, not the app's page.
ASSET_DIR = "assets/"
# Where index.html takes the content path (its links and module URLs).
CONTENT_PATH_MARK = "{{CONTENT_PATH}}"


@attr.s(frozen=True, slots=True)
class Asset:
    body: bytes = attr.ib(repr=False)
    content_type: str = attr.ib()
    etag: str = attr.ib()

    @classmethod
    def of(cls, name, body):
        content_type = CONTENT_TYPES.get(os.path.splitext(name)[1].lower(), DEFAULT_TYPE)
        return cls(body, content_type, '"%s"' % hashlib.sha256(body).hexdigest()[:32])


class Assets:
    """The files of ``directory`` by their path relative to it ("assets/app.js"),
    and the app's page made for one content path."""

    def __init__(self, files, content_path="/ui/"):
        self.files = dict(files)
        template = self.files.pop(INDEX).body.decode("utf-8")
        page = template.replace(CONTENT_PATH_MARK, html.escape(content_path, quote=True))
        self.index = Asset.of(INDEX, page.encode("utf-8"))
        self.robots = self.files.get(ROBOTS)

    @classmethod
    def load(cls, content_path="/ui/", directory=STATIC):
        files = {}
        for folder, _, names in os.walk(directory):
            for name in names:
                full = os.path.join(folder, name)
                relative = os.path.relpath(full, directory).replace(os.sep, "/")
                with open(full, "rb") as f:
                    files[relative] = Asset.of(name, f.read())
        return cls(files, content_path)

    def lookup(self, relative):
        """What ``<content path><relative>`` serves: a file, the app's page
        (for every other path: the app routes it), or None (a missing file
        of the app's own)."""
        found = self.files.get(relative)
        if found is not None:
            return found
        if relative.startswith(ASSET_DIR):
            return None
        return self.index
