"""The site as a reader sees it, in headless Chromium: `mkdocs build --strict` (what `make docs`
runs) into a temporary folder, then every page opened from disk. Each page renders without a
console error; search finds an op; the derivative reference lists every op of minigrad.ops;
the stepper's next button walks every node and ends showing each leaf's .grad as backward()
left it. A screenshot of each page is kept in .cache/screenshots/ (not in git).

Needs Debian's `chromium` and `chromium-driver` (CI installs them, .ci/run): without them the
browser tests are skipped, except under CI, where they fail.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import minigrad as mg
import minigrad.ops
from minigrad.autograd.function import Function
from minigrad.viz import stepper
from minigrad.viz.stepper import values_text

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / ".cache" / "screenshots"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")

if not (CHROMIUM and DRIVER) and not os.environ.get("CI"):
    pytest.skip(
        "the site is checked in Debian's chromium (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )


def _docs_module(name: str):
    spec = importlib.util.spec_from_file_location(f"docs_{name}", ROOT / "docs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def ops_of_minigrad() -> set[str]:
    """Every Function subclass defined in a module of minigrad/ops."""
    names = set()
    for info in pkgutil.iter_modules(minigrad.ops.__path__):
        module = importlib.import_module(f"minigrad.ops.{info.name}")
        names |= {
            name
            for name, value in vars(module).items()
            if isinstance(value, type)
            and issubclass(value, Function)
            and value.__module__ == module.__name__
        }
    return names


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stderr[-5000:]}"
    return folder


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def open_page(browser, path: Path) -> list[str]:
    """Open a page from disk; return the console's errors."""
    browser.get_log("browser")  # drop what an earlier page left
    browser.get(path.as_uri())
    browser.execute_script("return document.readyState")
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def screenshot(browser, site: Path, page: Path) -> None:
    name = str(page.relative_to(site)).replace("/", "-").removesuffix(".html")
    browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


# ---- the reference, without a browser ---------------------------------------------------------


def test_the_reference_lists_every_op_and_shows_its_code_as_it_is_in_the_file():
    reference = _docs_module("reference")
    assert {op.__name__ for op in reference.all_ops()} == ops_of_minigrad()
    for family, ops in reference.families().items():
        page = reference.family_page(family, ops, {}, {})
        for op in ops:
            for method in ("forward", "backward"):
                owner = reference.defining_class(op, method)
                lines, _ = inspect.getsourcelines(vars(owner)[method])
                code = "".join(lines)
                indent = len(lines[0]) - len(lines[0].lstrip())
                as_in_file = "".join(line[indent:] if line.strip() else line for line in lines)
                assert as_in_file.rstrip() in page, f"{op.__name__}.{method} ({code[:40]}...)"


# ---- in the browser -----------------------------------------------------------------------------


def test_every_page_renders_without_console_errors(site, browser):
    # (404.html is for a web server, which serves it at any depth: its links start at /)
    pages = sorted(page for page in site.rglob("*.html") if page.name != "404.html")
    assert len(pages) > 20
    for page in pages:
        errors = open_page(browser, page)
        assert not errors, f"{page.relative_to(site)}: {errors}"
        assert browser.find_elements("css selector", "article h1"), page
        screenshot(browser, site, page)


def test_search_finds_an_op(site, browser):
    from selenium.webdriver.support.ui import WebDriverWait

    assert not open_page(browser, site / "index.html")
    box = browser.find_element("css selector", "input.md-search__input")
    box.click()
    box.send_keys("Sigmoid")
    links = WebDriverWait(browser, 20).until(
        lambda b: (
            [
                a.get_attribute("href")
                for a in b.find_elements("css selector", ".md-search-result__item a")
            ]
            or False
        )
    )
    assert any("derivatives/unary.html" in link for link in links), links
    browser.save_screenshot(str(SCREENSHOTS / "search-sigmoid.png"))


def test_the_derivative_reference_lists_every_op(site, browser):
    assert not open_page(browser, site / "derivatives" / "index.html")
    listed = {a.text for a in browser.find_elements("css selector", "article table td a")}
    assert ops_of_minigrad() <= listed
    assert listed - ops_of_minigrad() <= {info.name for info in pkgutil.iter_modules(
        minigrad.ops.__path__)}  # fmt: skip


def walk_to_the_end(browser, stepper_element) -> tuple[int, dict[str, str]]:
    """Press next until it is disabled; return how many presses and each leaf's .grad shown."""
    steps = int(stepper_element.find_element("css selector", ".mg-counter").text.split()[-1])
    next_button = stepper_element.find_element("css selector", 'button[data-go="next"]')
    presses = 0
    while next_button.is_enabled():
        # in the middle of the window: a site's header stays at the top, over what is there
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", next_button)
        next_button.click()
        presses += 1
        assert presses <= steps
        counter = stepper_element.find_element("css selector", ".mg-counter").text
        assert counter == f"step {presses} of {steps}"
    shown = {}
    for row in stepper_element.find_elements("css selector", ".mg-leaves tr[data-node]"):
        name, _, grad = (cell.text for cell in row.find_elements("css selector", "td"))
        shown[name] = grad
    return presses, shown


def test_a_stepper_page_walks_every_node_and_ends_with_backwards_gradients(tmp_path, browser):
    mg.manual_seed(0)
    w1 = mg.randn(4, 3, requires_grad=True)
    b1 = mg.zeros(3, requires_grad=True)
    w2 = mg.randn(3, 1, requires_grad=True)
    for tensor, name in ((w1, "w1"), (b1, "b1"), (w2, "w2")):
        tensor.name = name
    loss = ((mg.rand(2, 4) @ w1 + b1).relu() @ w2).sigmoid().mean()
    steps = stepper(loss)
    page = steps.save(tmp_path / "backward.html")
    assert not open_page(browser, page)
    element = browser.find_element("css selector", ".mg-stepper")
    presses, shown = walk_to_the_end(browser, element)
    assert presses == len(steps.steps)
    assert shown == {t.name: values_text(t.grad._data) for t in (w1, b1, w2)}
    browser.save_screenshot(str(SCREENSHOTS / "stepper-end.png"))
    element.find_element("css selector", 'button[data-go="first"]').click()
    from selenium.webdriver.common.keys import Keys

    element.send_keys(Keys.ARROW_RIGHT)  # the keys move too
    assert element.find_element("css selector", ".mg-counter").text.startswith("step 1 of")


@pytest.mark.skipif(not os.environ.get("MINIGRAD_DATA"), reason="the chapter reads MNIST")
def test_the_sites_steppers_end_with_the_chapters_gradients(site, browser, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MINIGRAD_DEVICE", "cpu")
    mg.set_default_device("cpu")
    try:
        namespace = _docs_module("build").run_page(ROOT / "docs" / "stepper.md")
    finally:
        mg.set_default_device(None)
    assert not open_page(browser, site / "stepper.html")
    elements = browser.find_elements("css selector", ".mg-stepper")
    recorded = [namespace[name] for name in ("steps", "tutorial_steps", "cnn_steps")]
    assert len(elements) == len(recorded)
    for element, steps in zip(elements, recorded):
        presses, shown = walk_to_the_end(browser, element)
        assert presses == len(steps.steps)
        assert shown == {name: values_text(grad) for name, grad in steps.leaf_grads.items()}
