"""The dashboard in a real browser: headless Chromium against ``custseg serve``.

Expected values come from the REST API (a second path to the same data, through the
bearer-token routes), or by hand (error positions).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Server

pytestmark = pytest.mark.browser

WAIT = 60  # seconds: the CI machine is shared; nothing here is a timing assertion


def _by() -> Any:
    from selenium.webdriver.common.by import By

    return By


def _wait(driver: Any, cond: Any, what: str) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, poll_frequency=0.1).until(cond, message=what)


def _severe(driver: Any) -> list[dict[str, Any]]:
    """Console errors and failed requests since the last call."""
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _login(driver: Any, server: Server, scope: str) -> None:
    by = _by()
    driver.get(f"{server.url}/ui/login")
    driver.delete_all_cookies()
    driver.get(f"{server.url}/ui/login")
    driver.find_element(by.ID, "token").send_keys(server.tokens[scope])
    driver.find_element(by.ID, "login-button").click()
    _wait(driver, lambda d: "/ui/login" not in d.current_url, "the login to redirect")
    _severe(driver)


def _loaded(driver: Any) -> None:
    _wait(
        driver,
        lambda d: d.execute_script("return document.readyState") == "complete",
        "the page to load",
    )


def _preview_count(server: Server, rule: str) -> int:
    r = server.api("POST", "/segments/preview", json={"rule": rule, "sample": 0})
    assert r.status_code == 200, r.text
    return int(r.json()["count"])


def _set_rule(driver: Any, rule: str) -> None:
    by = _by()
    box = driver.find_element(by.ID, "rule")
    box.clear()
    box.send_keys(rule)


def _saved(driver: Any) -> Any:
    """``#save-status`` once the save has an answer (class ``ok`` or ``error``)."""
    by = _by()

    def answered(d: Any) -> Any:
        e = d.find_element(by.ID, "save-status")
        return e if e.get_attribute("class") in ("ok", "error") else False

    return _wait(driver, answered, "#save-status to show the answer")


def _count_shown(driver: Any, expected: int) -> None:
    by = _by()
    _wait(
        driver,
        lambda d: d.find_element(by.ID, "live-count").get_attribute("data-count") == str(expected),
        f"#live-count to show {expected}",
    )


@pytest.fixture(scope="module")
def big_segment(server: Server) -> dict[str, Any]:
    """The largest evaluated segment, from the API."""
    r = server.api("GET", "/segments")
    assert r.status_code == 200, r.text
    rows = [s for s in r.json()["data"] if (s.get("size") or 0) > 0]
    return max(rows, key=lambda s: s["size"])


@pytest.fixture(scope="module")
def a_customer(server: Server, big_segment: dict[str, Any]) -> str:
    r = server.api("GET", f"/segments/{big_segment['name']}/members", params={"limit": 1})
    assert r.status_code == 200, r.text
    return str(r.json()["data"][0]["customer_id"])


def test_login_sets_a_strict_httponly_cookie(driver: Any, server: Server) -> None:
    _login(driver, server, "read")
    cookie = driver.get_cookie("custseg_session")
    assert cookie is not None
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert server.tokens["read"] not in driver.execute_script("return document.cookie")


def test_pages_load_without_console_errors(
    driver: Any, server: Server, big_segment: dict[str, Any], a_customer: str
) -> None:
    by = _by()
    _login(driver, server, "write")
    pages = {
        "overview": ("/ui/", ["kpi-customers", "kpi-revenue", "kpi-clv", "kpi-churn", "runs"]),
        "segments": ("/ui/segments", ["segments-table", "segment-search", "tag-filter"]),
        "builder": ("/ui/builder", ["rule", "live-count", "save-segment", "cluster-select"]),
        "segment": (
            f"/ui/segments/{big_segment['name']}",
            ["charts", "members-table", "export-csv", "export-email", "history"],
        ),
        "customer": (f"/ui/customers/{a_customer}", ["features", "segments", "orders"]),
        "clusters": ("/ui/clusters", ["k-curve", "cluster-names", "projection"]),
        "campaigns": ("/ui/campaigns", ["campaign-select", "forest", "holdout-create"]),
    }
    shots = os.environ.get("CUSTSEG_SCREENSHOTS")
    for name, (path, ids) in pages.items():
        driver.get(server.url + path)
        _loaded(driver)
        time.sleep(0.5)  # let the charts' scripts run before reading the console
        assert "/ui/login" not in driver.current_url, name
        for element_id in ids:
            assert driver.find_elements(by.ID, element_id), f"{name}: no #{element_id}"
        assert _severe(driver) == [], f"console errors on the {name} page"
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(Path(shots) / f"{name}.png"))


def test_overview_customer_count_is_the_apis(driver: Any, server: Server) -> None:
    by = _by()
    _login(driver, server, "read")
    driver.get(f"{server.url}/ui/")
    _loaded(driver)
    total = server.api(
        "POST",
        "/segments/preview",
        json={
            "rule": "number_of_orders >= 0",
            "sample": 0,
        },
    ).json()["total"]
    shown = driver.find_element(by.ID, "kpi-customers").text.replace(",", "")
    assert str(total) in shown


def test_builder_live_count_equals_the_api(driver: Any, server: Server) -> None:
    _login(driver, server, "read")
    driver.get(f"{server.url}/ui/builder")
    _loaded(driver)
    first = "number_of_orders >= 3"
    _set_rule(driver, first)
    _count_shown(driver, _preview_count(server, first))
    narrower = first + " AND amount_spent > 500"
    expected = _preview_count(server, narrower)
    assert expected < _preview_count(server, first)  # the count must visibly change
    _driver_append(driver, " AND amount_spent > 500")
    _count_shown(driver, expected)
    share = driver.find_element(_by().ID, "live-share").text
    total = server.api("POST", "/segments/preview", json={"rule": first, "sample": 0}).json()[
        "total"
    ]
    assert f"{100 * expected / total:.1f}" in share
    assert _severe(driver) == []


def _driver_append(driver: Any, text: str) -> None:
    driver.find_element(_by().ID, "rule").send_keys(text)


def test_bad_rule_shows_its_error_at_the_position(driver: Any, server: Server) -> None:
    by = _by()
    _login(driver, server, "read")
    driver.get(f"{server.url}/ui/builder")
    _loaded(driver)
    rule = "number_of_orders >= 3 AND amount_spnt > 500"
    _set_rule(driver, rule)
    err = _wait(
        driver,
        lambda d: (e := d.find_element(by.ID, "rule-error")).is_displayed() and e,
        "#rule-error to show",
    )
    # counted by hand: "number_of_orders >= 3 AND " is 26 characters
    assert err.get_attribute("data-position") == str(len("number_of_orders >= 3 AND "))
    assert "amount_spnt" in err.text
    assert "amount_spent" in err.text  # the suggestion
    marks = [m.text for m in driver.find_elements(by.CSS_SELECTOR, "mark")]
    # the highlight starts where the error is: its text is a prefix of the rule from there
    tail = rule[len("number_of_orders >= 3 AND ") :]
    assert any(m.strip() and tail.startswith(m) for m in marks), marks
    # the 422 is expected; nothing else may fail
    other = [e for e in _severe(driver) if "422" not in e["message"]]
    assert other == []


def test_saving_a_segment_puts_it_in_the_list(driver: Any, server: Server) -> None:
    by = _by()
    _login(driver, server, "write")
    driver.get(f"{server.url}/ui/builder")
    _loaded(driver)
    rule = "number_of_orders >= 4"
    _set_rule(driver, rule)
    _count_shown(driver, _preview_count(server, rule))
    driver.find_element(by.ID, "seg-name").send_keys("e2e_loyal")
    driver.find_element(by.ID, "seg-description").send_keys("Four orders or more")
    prio = driver.find_element(by.ID, "seg-priority")
    prio.clear()
    prio.send_keys("50")
    driver.find_element(by.ID, "save-segment").click()
    assert _saved(driver).get_attribute("class") == "ok"
    got = server.api("GET", "/segments/e2e_loyal")
    assert got.status_code == 200, got.text
    assert got.json()["rule"] == rule
    driver.get(f"{server.url}/ui/segments")
    _loaded(driver)
    assert driver.find_elements(by.CSS_SELECTOR, 'tr[data-segment="e2e_loyal"]')
    search = driver.find_element(by.ID, "segment-search")
    search.send_keys("e2e_loyal")
    visible = [
        r.get_attribute("data-segment")
        for r in driver.find_elements(by.CSS_SELECTOR, "tr[data-segment]")
        if r.is_displayed()
    ]
    assert visible == ["e2e_loyal"]


def test_a_read_token_cannot_save(driver: Any, server: Server) -> None:
    by = _by()
    _login(driver, server, "read")
    driver.get(f"{server.url}/ui/builder")
    _loaded(driver)
    _set_rule(driver, "number_of_orders >= 5")
    driver.find_element(by.ID, "seg-name").send_keys("e2e_not_saved")
    driver.find_element(by.ID, "save-segment").click()
    status = _saved(driver)
    assert status.get_attribute("class") == "error"
    assert "write" in status.text
    assert server.api("GET", "/segments/e2e_not_saved").status_code == 404


def _members(server: Server, key: str) -> int:
    """Members of a segment, paged through the REST API."""
    n, cursor = 0, None
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if cursor:
            params["cursor"] = cursor
        page = server.api("GET", f"/segments/{key}/members", params=params).json()
        n += len(page["data"])
        cursor = page["next_cursor"]
        if not cursor:
            return n


def test_an_export_downloads_a_file_with_one_row_per_member(
    driver: Any, server: Server, big_segment: dict[str, Any], downloads: Path
) -> None:
    by = _by()
    _login(driver, server, "write")
    driver.get(f"{server.url}/ui/segments/{big_segment['name']}")
    _loaded(driver)
    before = set(downloads.iterdir())
    driver.find_element(by.ID, "export-csv").click()

    def done(_: Any) -> Path | bool:
        new = [p for p in downloads.iterdir() if p not in before]
        # Chromium creates the final name empty first and fills it through a .crdownload
        if not new or any(p.name.endswith(".crdownload") for p in new):
            return False
        return new[0] if new[0].stat().st_size > 0 else False

    path = _wait(driver, done, "the export to download")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].split(",")[0] == "customer_id"
    assert len(lines) - 1 == _members(server, big_segment["name"])
