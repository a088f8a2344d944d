"""`argos lines` in a real headless browser (Debian's chromium + chromium-driver, driven by
selenium): draw a counting line with two clicks on the frame, name it, give it a lane, flip its
in direction with a click on the arrow, draw a zone, be refused a name the config already uses,
save; the written block must load through the real config loader and count "in" the way the
arrow pointed.

ARGOS_LINES_SCREENSHOT=docs/images/argos-lines.png also saves the page as the README shows it.
"""

import os
import select
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from argos_bringup.config import load_config
from argos_common.lines import DIRECTION_IN, parse_lines

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
if not (CHROMIUM and DRIVER):
    pytest.skip(
        "chromium and chromium-driver are not installed (apt-get install chromium chromium-driver; "
        "scripts/setup.sh does)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip -r requirements.txt)")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

SIZE = (1280, 720)  # camera.width/height of config/edge.yaml: the synthetic frame's size
# Across the eastbound lane of the west arm, clicked bottom to top: walking north, "in" is
# crossing to the left, westwards (out of the intersection); one flip makes eastbound traffic,
# heading into the intersection, count "in".
CLICK_A, CLICK_B = (200.0, 425.0), (200.0, 365.0)
ZONE = [(585.0, 300.0), (695.0, 300.0), (695.0, 420.0), (585.0, 420.0)]


@pytest.fixture
def lines_server(tmp_path):
    out = tmp_path / "lines.yaml"
    args = [shutil.which("argos"), "lines", "--source", "synthetic://intersection", "--port", "0", "--out", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "argos lines printed no address within 60 s"
        banner = proc.stdout.readline()
        assert "open http://127.0.0.1:" in banner, banner + proc.stderr.read()
        url = banner.split("open ", 1)[1].split()[0]
        yield url, out, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1360,760"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=webdriver.ChromeService(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def click_frame(driver, view, point):
    """Click the frame at `point` (frame pixels); returns where that click lands in frame pixels
    (the click offset is whole CSS pixels)."""
    rect = view.rect
    sx, sy = rect["width"] / SIZE[0], rect["height"] / SIZE[1]
    dx, dy = round(point[0] * sx - rect["width"] / 2), round(point[1] * sy - rect["height"] / 2)
    ActionChains(driver).move_to_element_with_offset(view, dx, dy).click().perform()
    return ((dx + rect["width"] / 2) / sx, (dy + rect["height"] / 2) / sy)


def arrow_tip_x(driver, index):
    """x of the arrowhead's tip of line `index` (the first point of its polygon)."""
    polygon = driver.find_element(By.CSS_SELECTOR, f'g.arrow[data-index="{index}"] polygon')
    return float(polygon.get_attribute("points").split()[0].split(",")[0])


def save_and_wait(driver):
    before = driver.find_element(By.ID, "message").text
    driver.find_element(By.ID, "save").click()
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "message").text not in ("", before))
    return driver.find_element(By.ID, "message")


def test_draw_name_flip_and_save_a_line_in_chromium(lines_server, browser, tmp_path):
    url, out, proc = lines_server
    browser.get(url)
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#lines li.line")) == 4  # the config's, shown
    assert browser.execute_script("return document.getElementById('frame').getBBox().width") == SIZE[0]

    frame = browser.find_element(By.ID, "frame")
    assert frame.get_attribute("href").endswith("n=1")
    browser.find_element(By.ID, "new-frame").click()  # the source's next frame, nothing else changes
    WebDriverWait(browser, 20).until(lambda d: frame.get_attribute("href").endswith("n=2"))

    view = browser.find_element(By.ID, "view")
    a = click_frame(browser, view, CLICK_A)
    b = click_frame(browser, view, CLICK_B)
    items = browser.find_elements(By.CSS_SELECTOR, "#lines li.line")
    assert len(items) == 5
    name = browser.switch_to.active_element  # the new line's name, focused for typing
    assert name == items[4].find_element(By.CSS_SELECTOR, "input.name")
    assert name.get_attribute("value") == "line_1"
    name.clear()
    name.send_keys("west_in")
    items[4].find_element(By.CSS_SELECTOR, "input.lanes").send_keys("eastbound")

    mid_x = (a[0] + b[0]) / 2
    assert arrow_tip_x(browser, 4) < mid_x  # as clicked: "in" points west
    browser.find_element(By.CSS_SELECTOR, 'g.arrow[data-index="4"]').click()
    assert arrow_tip_x(browser, 4) > mid_x  # flipped: "in" points east, into the intersection
    assert len(browser.find_elements(By.CSS_SELECTOR, "#lines li.line")) == 5  # the click drew nothing

    browser.find_element(By.ID, "mode-zone").click()
    corners = [click_frame(browser, view, p) for p in ZONE]
    click_frame(browser, view, ZONE[0])  # back on the first corner closes it
    zone_name = browser.switch_to.active_element
    assert zone_name.get_attribute("value") == "zone_1"
    zone_name.clear()
    zone_name.send_keys("box")

    if os.environ.get("ARGOS_LINES_SCREENSHOT"):
        browser.save_screenshot(os.environ["ARGOS_LINES_SCREENSHOT"])

    name = browser.find_elements(By.CSS_SELECTOR, "#lines li.line")[4].find_element(By.CSS_SELECTOR, "input.name")
    name.clear()
    name.send_keys("west")  # taken by a config line: Save must refuse it, naming the line
    message = save_and_wait(browser)
    assert "error" in message.get_attribute("class")
    assert "lines.names" in message.text and "'west' is named twice" in message.text
    assert "error" in browser.find_elements(By.CSS_SELECTOR, "#lines li.line")[4].get_attribute("class")
    assert not out.exists()  # nothing written for a refused drawing

    name = browser.find_elements(By.CSS_SELECTOR, "#lines li.line")[4].find_element(By.CSS_SELECTOR, "input.name")
    name.clear()
    name.send_keys("west_in")
    message = save_and_wait(browser)
    assert message.get_attribute("class") == "ok" and str(out) in message.text, message.text
    text = out.read_text()
    assert browser.find_element(By.ID, "yaml").text.strip() == text.strip()

    tracker = load_config(out).node("tracker")  # the block alone is a complete parameter file
    assert tracker["geometry.image_size"] == list(SIZE)
    lines = {line.id: line for line in parse_lines(tracker, SIZE)}
    assert list(lines) == ["west", "east", "north", "south", "west_in"]
    drawn = lines["west_in"]
    assert drawn.lanes == ("eastbound",)
    # flipped: the line walks from the second click to the first
    assert drawn.points.ravel().tolist() == pytest.approx([*b, *a], abs=0.6)
    crossing = drawn.crossing((150.0, 400.0), (250.0, 400.0))  # an eastbound vehicle
    assert crossing is not None and crossing.direction == DIRECTION_IN and crossing.lane == "eastbound"
    # the config's lines come back as they were
    config = load_config(Path(__file__).resolve().parents[2] / "config" / "edge.yaml").node("tracker")
    for original in parse_lines(config, SIZE):
        assert lines[original.id].points.tolist() == original.points.tolist()
        assert lines[original.id].lanes == original.lanes
    assert tracker["zones.names"] == ["box"]
    assert tracker["zones.box.points"] == pytest.approx([c for p in corners for c in p], abs=0.6)

    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr[-2000:]
    assert text in stdout  # printed as well as written
