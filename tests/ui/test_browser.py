"""The UI in headless Chromium against a real agent: what a person sees and
does, checked through the HTTP API. Screenshots of each main page are saved
in the test's temporary folder, their paths logged (test.log)."""

import base64
import json
import re

from playwright.sync_api import expect

from tests.integration.agent import NET, Agent, wait_for
from tests.ui.browser import DEADLINE_MS, BrowserTestCase


def ttl_service(name, service_id, port, tags=(), meta=None):
    return {"Name": name, "ID": service_id, "Port": port, "Tags": list(tags), "Meta": meta or {},
            "Check": {"CheckID": service_id + "-ttl", "TTL": "600s", "Notes": "reported by " + service_id}}


class ServicesTests(BrowserTestCase):
    def test_the_services_page_counts_health(self):
        page = self.start(f"{NET}.14.1")
        self.register(ttl_service("web", "web-1", 8080, tags=["v1", "prod"], meta={"version": "1.4"}))
        self.register(ttl_service("web", "web-2", 8081, tags=["v2"]))
        self.register(ttl_service("db", "db-1", 5432))
        self.register({"Name": "cache", "ID": "cache-1", "Port": 6379})
        self.put("/v1/agent/check/pass/web-1-ttl?note=fine")
        self.put("/v1/agent/check/warn/web-2-ttl?note=slow")
        # db-1's TTL check starts critical. Every instance also counts its
        # node's serfHealth check, as Consul's UI does.
        self.open(page, "/ui/")
        expect(page).to_have_url(re.compile(r"/ui/dc1/services$"))
        rows = page.locator("tr[data-service]")
        expect(rows).to_have_count(4)
        expected = {
            "cache": ("1 instance", "✓ 1 passing", "passing"),
            "consul": ("1 instance", "✓ 1 passing", "passing"),
            "db": ("1 instance", "✓ 1 passing ✕ 1 critical", "critical"),
            "web": ("2 instances", "✓ 3 passing ! 1 warning", "warning"),
        }
        for name, (instances, health, status) in expected.items():
            row = page.locator(f'tr[data-service="{name}"]')
            expect(row.locator('td[data-label="Instances"]')).to_have_text(instances)
            expect(row.locator('td[data-label="Health"]')).to_have_text(health)
            expect(row).to_have_attribute("data-status", status)
        expect(page.locator('tr[data-service="web"] .tag')).to_have_text(["prod", "v1", "v2"])
        self.screenshot(page, "services")

        page.get_by_label("Health").select_option("critical")
        expect(rows).to_have_count(1)
        expect(rows).to_have_attribute("data-service", "db")
        expect(page).to_have_url(re.compile(r"status=critical"))
        page.get_by_label("Health").select_option("")
        page.get_by_label("Tag", exact=True).select_option("v2")
        expect(rows).to_have_count(1)
        expect(rows).to_have_attribute("data-service", "web")
        page.get_by_label("Tag", exact=True).select_option("")
        page.get_by_label("Search services").fill("CA")
        expect(rows).to_have_count(1)
        expect(page.locator(".count")).to_have_text("1 of 4 services")
        # The filtered list is an address of its own.
        page.reload()
        page.wait_for_selector("main[data-ready]")
        expect(rows).to_have_count(1)
        expect(page.get_by_label("Search services")).to_have_value("CA")

        page.goto(self.base + "/ui/dc1/services/web")
        instance = page.locator('li.instance[data-instance="web-1"]')
        expect(instance.locator("dd").nth(1)).to_have_text(f"{self.agent.address}:8080")
        expect(instance.locator(".meta")).to_have_text("version1.4")
        expect(instance.locator('.check[data-check="web-1-ttl"] .check-notes')).to_have_text("reported by web-1")
        expect(instance.locator('.check[data-check="web-1-ttl"] .check-output')).to_have_text("fine")
        expect(page.locator('li.instance[data-instance="web-2"]')).to_have_attribute("data-status", "warning")
        self.screenshot(page, "service")
        phone = self.new_page(width=390, height=844)
        self.open(phone, "/ui/dc1/services")
        self.screenshot(phone, "services-phone")
        self.open(phone, "/ui/dc1/services/web")
        self.screenshot(phone, "service-phone")

    def test_a_failing_check_turns_critical_without_a_reload(self):
        page = self.start(f"{NET}.14.2")
        self.register(ttl_service("api", "api-1", 9000))
        self.register(ttl_service("api", "api-2", 9001))
        self.put("/v1/agent/check/pass/api-1-ttl")
        self.put("/v1/agent/check/pass/api-2-ttl")
        self.open(page, "/ui/dc1/services/api")
        instance = page.locator('li.instance[data-instance="api-1"]')
        expect(instance).to_have_attribute("data-status", "passing")
        listing = self.open(self.new_page(), "/ui/dc1/services")
        expect(listing.locator('tr[data-service="api"]')).to_have_attribute("data-status", "passing")
        page.evaluate("window.sameDocument = true")

        self.put("/v1/agent/check/fail/api-1-ttl?note=connection%20refused")
        expect(instance).to_have_attribute("data-status", "critical")
        expect(instance.locator(".instance-head .badge")).to_have_text("✕ critical")
        expect(instance.locator('.check[data-check="api-1-ttl"] .check-output')).to_have_text("connection refused")
        expect(page.locator('li.instance[data-instance="api-2"]')).to_have_attribute("data-status", "passing")
        expect(listing.locator('tr[data-service="api"] td[data-label="Health"]')).to_have_text(
            "✓ 3 passing ✕ 1 critical")
        self.assertIs(page.evaluate("window.sameDocument"), True)  # no reload happened
        self.screenshot(page, "service-critical")

    def test_an_unreachable_agent_is_said_and_retried(self):
        page = self.start(f"{NET}.14.3")
        self.open(page, "/ui/dc1/services")
        banner = page.locator("#connection")
        expect(banner).to_be_hidden()
        self.agent.kill()
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("Cannot reach the agent")
        expect(banner).to_contain_text(re.compile(r"Trying again in \d+ s"))
        self.screenshot(page, "unreachable")
        self.agent.start()
        self.agent.wait_until_leader()
        # Backing off: the next try comes within the 1 s, 2 s, 4 s ... steps.
        expect(banner).to_be_hidden(timeout=DEADLINE_MS * 2)
        expect(page.locator('tr[data-service="consul"]')).to_have_count(1)


class NodeTests(BrowserTestCase):
    def test_nodes_and_a_nodes_page(self):
        page = self.start(f"{NET}.14.4")
        self.register(ttl_service("web", "web-1", 8080))
        session = self.put("/v1/session/create", {"Name": "deploy-lock", "TTL": "300s"})["ID"]
        self.open(page, "/ui/dc1/nodes")
        row = page.locator(f'tr[data-node="{self.node}"]')
        expect(row.locator('td[data-label="Address"]')).to_have_text(self.agent.address)
        expect(row.locator('td[data-label="Health"]')).to_have_text("✓ 1 passing ✕ 1 critical")
        expect(row.locator('td[data-label="Services"] a')).to_have_text(["consul", "web"])
        self.screenshot(page, "nodes")

        row.get_by_role("link", name=self.node).click()
        expect(page).to_have_url(re.compile(f"/ui/dc1/nodes/{self.node}$"))
        expect(page.locator("h1")).to_have_text(self.node)
        expect(page.locator("#node-checks + div .check")).to_have_count(2)
        expect(page.locator("#node-services + div tr[data-service]")).to_have_count(2)
        expect(page.locator(f'tr[data-session="{session}"] td[data-label="Name"]')).to_have_text("deploy-lock")
        # One node: no other node to be far from, so no round-trip times (an
        # agent without coordinates answers 404: nothing either).
        expect(page.locator("#node-rtt")).to_be_hidden()
        self.screenshot(page, "node")

        page.get_by_role("button", name=f"Invalidate session {session}").click()
        dialog = page.locator("dialog")
        expect(dialog).to_contain_text(session)
        dialog.get_by_role("button", name="Invalidate").click()
        expect(page.locator(f'tr[data-session="{session}"]')).to_have_count(0)
        wait_for(lambda: self.api("GET", "/v1/session/info/" + session)[1] == b"[]",
                 timeout=DEADLINE_MS / 1000, what="the session to end")
        expect(page.locator(".notice")).to_have_text(f"Session {session} was invalidated.")


class OptionalAPITests(BrowserTestCase):
    """What the UI shows only where the agent has it: network coordinates
    and several datacenters (answered here by the browser's route, as an
    agent with them would answer)."""

    def test_round_trip_times_where_coordinates_exist(self):
        page = self.start(f"{NET}.14.9")

        def coordinate(node, x, height):
            return {"Node": node, "Segment": "",
                    "Coord": {"Vec": [x, 0, 0, 0, 0, 0, 0, 0], "Error": 0.2, "Adjustment": 0, "Height": height}}

        coordinates = [coordinate(self.node, 0.001, 0.0001), coordinate("far", 0.0, 0.0001),
                       coordinate("near", 0.0009, 0.0001)]
        page.route("**/v1/coordinate/nodes*", lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(coordinates),
            headers={"X-Consul-Index": "7"}))
        self.open(page, f"/ui/dc1/nodes/{self.node}")
        rtt = page.locator("#node-rtt").locator("..")
        expect(rtt).to_be_visible()
        # far: 1 ms apart plus both heights; near: 0.1 ms plus both heights.
        expect(rtt.locator("dd")).to_have_text(["minimum 0.30 ms, median 0.75 ms, maximum 1.20 ms"])
        expect(rtt.locator("dt")).to_have_text(["To the other 2 nodes"])

    def test_the_datacenter_switcher(self):
        page = self.start(f"{NET}.14.10")
        self.open(page, "/ui/dc1/services")
        expect(page.locator("#dc-switcher")).to_be_empty()  # one datacenter: nothing to switch
        page.route("**/v1/catalog/datacenters*", lambda route: route.fulfill(
            status=200, content_type="application/json", body='["dc1", "dc2"]'))
        asked = []
        page.on("request", lambda r: asked.append(r.url))
        self.open(page, "/ui/dc1/nodes")
        switcher = page.locator("#dc-switcher summary")
        expect(switcher).to_have_text("Datacenter: dc1")
        switcher.click()
        page.locator("#dc-switcher").get_by_role("link", name="dc2").click()
        expect(page).to_have_url(re.compile(r"/ui/dc2/nodes$"))
        expect(page.locator("#dc-switcher summary")).to_have_text("Datacenter: dc2")
        wait_for(lambda: any("/v1/catalog/nodes?dc=dc2" in url for url in asked), timeout=DEADLINE_MS / 1000,
                 what="the nodes of dc2 to be asked for")


class TwoDatacenterTests(BrowserTestCase):
    """Two real datacenters: dc1's -dev agent serves the UI, dc2's joins it in
    the WAN pool, and dc2's pages are asked of dc1's agent with ?dc=dc2."""

    def test_the_switcher_takes_the_ui_to_a_real_second_datacenter(self):
        first, second = f"{NET}.14.11", f"{NET}.14.12"
        page = self.start(first)
        dc2 = Agent(self, second, ["--dev", "--node", "node-12", "--datacenter", "dc2", "--join-wan", first])
        dc2.start().wait_until_leader()
        wait_for(lambda: json.loads(self.api("GET", "/v1/catalog/datacenters")[1]) == ["dc1", "dc2"],
                 timeout=DEADLINE_MS / 1000, what="dc1's agent to list dc2")

        def on_dc2(method, path, body=None):
            status, content = dc2.request(method, path, None if body is None else json.dumps(body).encode())
            self.assertEqual(status, 200, content)
            return json.loads(content) if content else None

        on_dc2("PUT", "/v1/agent/service/register", ttl_service("billing", "billing-1", 7000, tags=["eu"]))
        on_dc2("PUT", "/v1/agent/check/warn/billing-1-ttl?note=slow")
        self.assertEqual(json.loads(self.api("GET", "/v1/catalog/service/billing")[1]), [])  # dc2's only

        self.open(page, "/ui/dc1/services")
        rows = page.locator("tr[data-service]")
        expect(rows).to_have_count(1)
        expect(rows).to_have_attribute("data-service", "consul")
        asked = []
        page.on("request", lambda r: asked.append(r.url))
        page.get_by_text("Datacenter: dc1").click()
        page.get_by_role("list", name="Datacenters").get_by_role("link", name="dc2").click()
        expect(page).to_have_url(re.compile(r"/ui/dc2/services$"))
        expect(page.get_by_text("Datacenter: dc2")).to_be_visible()
        billing = page.locator('tr[data-service="billing"]')
        expect(billing.locator('td[data-label="Health"]')).to_have_text("✓ 1 passing ! 1 warning")
        expect(billing).to_have_attribute("data-status", "warning")
        expect(billing.locator('td[data-label="Instances"]')).to_have_text("1 instance")
        expect(billing.locator(".tag")).to_have_text(["eu"])
        expect(rows).to_have_count(2)  # dc2's consul and billing
        self.screenshot(page, "dc2-services")

        billing.get_by_role("link", name="billing").click()
        expect(page).to_have_url(re.compile(r"/ui/dc2/services/billing$"))
        instance = page.locator('li.instance[data-instance="billing-1"]')
        expect(instance).to_have_attribute("data-status", "warning")
        expect(instance.locator("dd").nth(1)).to_have_text(f"{second}:7000")
        expect(instance.locator('.check[data-check="billing-1-ttl"] .check-output')).to_have_text("slow")
        self.screenshot(page, "dc2-service")
        instance.get_by_role("link", name="node-12").click()
        expect(page).to_have_url(re.compile(r"/ui/dc2/nodes/node-12$"))
        expect(page.locator("h1")).to_have_text("node-12")
        expect(page.locator("#node-services + div tr[data-service]")).to_have_count(2)

        self.open(page, "/ui/dc2/kv/")
        expect(page.locator(".empty")).to_have_text("There are no keys yet.")
        page.get_by_role("link", name="Create").click()
        expect(page).to_have_url(re.compile(r"/ui/dc2/kv/create$"))
        page.get_by_label("Key or folder name").fill("region/name")
        page.get_by_label("Value").fill("dc2 here")
        page.get_by_role("button", name="Save").click()
        expect(page).to_have_url(re.compile(r"/ui/dc2/kv/region/name/edit$"))
        expect(page.get_by_label("Value")).to_have_value("dc2 here")
        self.screenshot(page, "dc2-kv-edit")
        # In dc2, whether asked through dc1's agent or of dc2's own; not in dc1.
        status, content = self.api("GET", "/v1/kv/region/name?dc=dc2")
        self.assertEqual(status, 200, content)
        self.assertEqual(base64.b64decode(json.loads(content)[0]["Value"]), b"dc2 here")
        self.assertEqual(base64.b64decode(on_dc2("GET", "/v1/kv/region/name")[0]["Value"]), b"dc2 here")
        self.assertEqual(self.api("GET", "/v1/kv/region/name")[0], 404)
        self.assertEqual(self.api("GET", "/v1/kv/region/name?dc=dc1")[0], 404)

        # Every request of dc2's pages named dc2, but the two about the agent itself.
        api_requests = [url for url in asked if "/v1/" in url]
        self.assertTrue(api_requests)
        without = [url for url in api_requests if "dc=dc2" not in url and not re.search(
            r"/v1/(agent/self|catalog/datacenters)(\?|$)", url)]
        self.assertEqual(without, [])

        # And back: dc1's key/value store is still empty.
        page.get_by_text("Datacenter: dc2").click()
        page.get_by_role("list", name="Datacenters").get_by_role("link", name="dc1").click()
        expect(page).to_have_url(re.compile(r"/ui/dc1/kv/$"))
        expect(page.locator(".empty")).to_have_text("There are no keys yet.")


class KVTests(BrowserTestCase):
    def test_create_edit_and_delete_through_the_ui(self):
        page = self.start(f"{NET}.14.5")
        self.open(page, "/ui/dc1/kv/")
        expect(page.locator(".empty")).to_have_text("There are no keys yet.")
        page.get_by_role("link", name="Create").click()
        page.get_by_label("Key or folder name").fill("app/greeting")
        page.get_by_label("Value").fill("hello")
        page.get_by_role("button", name="Save").click()
        expect(page).to_have_url(re.compile(r"/ui/dc1/kv/app/greeting/edit$"))
        self.wait_for_kv("app/greeting", lambda e: e and e["Value"] == "aGVsbG8=", "the key to be created")
        expect(page.get_by_label("Value")).to_have_value("hello")

        page.get_by_label("Value").fill('{"greeting": "hello again"}')
        expect(page.locator("#kv-json")).to_have_text("Valid JSON.")
        page.get_by_role("button", name="Format JSON").click()
        page.get_by_label("Flags").fill("42")
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".notice")).to_have_text("Saved app/greeting.")
        entry = self.wait_for_kv("app/greeting", lambda e: e and e["Flags"] == 42 and e, "the edit to be saved")
        self.assertEqual(base64.b64decode(entry["Value"]), b'{\n  "greeting": "hello again"\n}')
        self.screenshot(page, "kv-edit")

        page.get_by_role("link", name="app/", exact=True).click()
        expect(page).to_have_url(re.compile(r"/ui/dc1/kv/app/$"))
        page.get_by_role("link", name="Create").click()
        expect(page.locator(".prefix")).to_have_text("app/")
        page.get_by_label("Key or folder name").fill("settings/")
        expect(page.get_by_label("Value")).to_be_hidden()
        page.get_by_role("button", name="Save").click()
        expect(page).to_have_url(re.compile(r"/ui/dc1/kv/app/settings/$"))
        self.wait_for_kv("app/settings/", lambda e: e is not None, "the folder to be created")
        page.go_back()
        page.go_back()
        expect(page).to_have_url(re.compile(r"/ui/dc1/kv/app/$"))
        expect(page.locator("tr[data-key]")).to_have_count(2)
        self.screenshot(page, "kv-folder")

        page.locator('tr[data-key="app/greeting"] a').click()
        expect(page).to_have_url(re.compile(r"/ui/dc1/kv/app/greeting/edit$"))
        page.get_by_role("button", name="Delete", exact=True).click()
        page.locator("dialog").get_by_role("button", name="Delete").click()
        expect(page).to_have_url(re.compile(r"/ui/dc1/kv/app/$"))
        self.wait_for_kv("app/greeting", lambda e: e is None, "the key to be deleted")
        expect(page.locator("tr[data-key]")).to_have_count(1)

        self.put("/v1/kv/app/settings/deep/key", "x")
        page.get_by_role("button", name="Delete folder", exact=True).click()
        expect(page.locator("dialog")).to_contain_text("The folder app/ and every key in it will be deleted.")
        page.locator("dialog").get_by_role("button", name="Delete").click()
        expect(page).to_have_url(re.compile(r"/ui/dc1/kv/$"))
        wait_for(lambda: self.api("GET", "/v1/kv/app?recurse")[0] == 404, timeout=DEADLINE_MS / 1000,
                 what="the folder to be deleted")
        expect(page.locator(".empty")).to_have_text("There are no keys yet.")

    def test_a_cas_conflict_is_shown_not_overwritten(self):
        page = self.start(f"{NET}.14.6")
        self.put("/v1/kv/config/limit", "10")
        self.open(page, "/ui/dc1/kv/config/limit/edit")
        expect(page.get_by_label("Value")).to_have_value("10")
        page.get_by_label("Value").fill("20")
        self.put("/v1/kv/config/limit", "15")  # someone else, while the editor is open
        expect(page.locator(".notice")).to_contain_text("changed on the server")
        page.get_by_role("button", name="Save").click()
        conflict = page.locator(".conflict")
        expect(conflict).to_be_visible()
        expect(conflict.locator('pre[data-side="mine"]')).to_have_text("20")
        expect(conflict.locator('pre[data-side="theirs"]')).to_have_text("15")
        self.assertEqual(self.kv("config/limit")["Value"], "MTU=")  # still theirs: "15"
        self.screenshot(page, "kv-conflict")

        conflict.get_by_role("button", name="Save mine over it").click()
        self.wait_for_kv("config/limit", lambda e: e["Value"] == "MjA=", "mine to be saved")
        expect(conflict).to_be_hidden()
        expect(page.locator(".notice")).to_have_text("Saved config/limit.")

        # A binary value is shown as base64, and kept byte for byte.
        self.put("/v1/kv/config/blob", b"\x00\xff\x10".decode("latin-1").encode("latin-1"))
        self.open(page, "/ui/dc1/kv/config/blob/edit")
        expect(page.get_by_label("Value")).to_have_value("AP8Q")
        expect(page.get_by_label("Text")).to_be_disabled()


class KeyboardTests(BrowserTestCase):
    def tab_to(self, page, name, backwards=False, limit=80):
        """Press Tab (Shift+Tab) until the focused element's text is ``name``."""
        key = "Shift+Tab" if backwards else "Tab"
        for _ in range(limit):
            page.keyboard.press(key)
            text = page.evaluate("document.activeElement && document.activeElement.textContent.trim()")
            if text == name:
                return
        self.fail("no focusable element named %r within %d presses of %s" % (name, limit, key))

    def go(self, page, name, path, heading, backwards=False):
        self.tab_to(page, name, backwards)
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(re.escape(path) + "$"))
        expect(page.locator("h1")).to_have_text(heading)
        page.wait_for_selector("main[data-ready]")
        # Moving to a page moves the focus to its title.
        self.assertEqual(page.evaluate("document.activeElement.tagName"), "H1")

    def test_every_page_by_keyboard(self):
        page = self.start(f"{NET}.14.7")
        self.register(ttl_service("web", "web-1", 8080))
        self.put("/v1/kv/team/owner", "ops")
        self.open(page, "/ui/")
        page.keyboard.press("Tab")
        self.assertEqual(page.evaluate("document.activeElement.textContent"), "Skip to content")

        self.go(page, "web", "/ui/dc1/services/web", "web")
        self.go(page, self.node, f"/ui/dc1/nodes/{self.node}", self.node)
        self.go(page, "Nodes", "/ui/dc1/nodes", "Nodes", backwards=True)
        self.go(page, self.node, f"/ui/dc1/nodes/{self.node}", self.node)
        self.go(page, "Services", "/ui/dc1/services", "Services", backwards=True)
        self.go(page, "Key/Value", "/ui/dc1/kv/", "Key/Value", backwards=True)
        self.go(page, "team/", "/ui/dc1/kv/team/", "team/")
        self.go(page, "owner", "/ui/dc1/kv/team/owner/edit", "owner")
        # The confirmation opens on Cancel; Escape closes it and deletes nothing.
        self.tab_to(page, "Delete")
        page.keyboard.press("Enter")
        expect(page.locator("dialog")).to_be_visible()
        self.assertEqual(page.evaluate("document.activeElement.textContent"), "Cancel")
        page.keyboard.press("Escape")
        expect(page.locator("dialog")).to_have_count(0)
        self.assertIsNotNone(self.kv("team/owner"))
        self.go(page, "team/", "/ui/dc1/kv/team/", "team/", backwards=True)
        self.go(page, "Create", "/ui/dc1/kv/team/create", "Create in team/")
        self.go(page, "Settings", "/ui/settings", "Settings", backwards=True)
        self.screenshot(page, "settings")
        # Back works as in any site.
        page.go_back()
        expect(page.locator("h1")).to_have_text("Create in team/")

    def test_the_token_goes_with_every_request(self):
        page = self.start(f"{NET}.14.8")
        self.open(page, "/ui/settings")
        page.get_by_label("ACL token").fill("secret-token")
        page.get_by_role("button", name="Save").click()
        seen = []
        page.on("request", lambda r: seen.append((r.url, r.headers.get("x-consul-token"))))
        page.goto(self.base + "/ui/dc1/kv/")
        page.wait_for_selector("main[data-ready]")
        api_requests = [(url, token) for url, token in seen if "/v1/" in url]
        self.assertTrue(api_requests)
        self.assertEqual({token for _, token in api_requests}, {"secret-token"})
