"""In a notebook, a Tensor shows as a small table and a graph as a picture (Jupyter calls
`_repr_html_` and `_repr_svg_`, and falls back to the text repr when they return None)."""

from __future__ import annotations

import re
import shutil

import pytest

import minigrad as mg
from minigrad import viz
from minigrad.viz import Graph


def cells(html: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", html)


def test_a_tensor_shows_what_it_is_and_its_numbers():
    w = mg.tensor([[1.5, -2.0], [0.25, 3.0]], requires_grad=True)
    html = w._repr_html_()
    assert "<caption>Tensor: (2, 2), float32, cpu, requires_grad (a leaf)</caption>" in html
    assert cells(html) == ["1.5", "-2", "0.25", "3"]
    assert html.count("<tr>") == 2
    out = (w * 2).sum()
    out.name = "loss <total>"  # escaped, not markup
    out.backward()
    assert "Tensor loss &lt;total&gt;: (), float32, cpu, made by Sum" in out._repr_html_()
    assert ".grad set" in w._repr_html_()
    assert cells(mg.tensor([1, 2])._repr_html_()) == ["1", "2"]


def test_a_big_tensor_shows_its_corner_and_more_dims_show_torchs_print():
    html = mg.arange(200.0).reshape(20, 10)._repr_html_()
    assert html.count("<tr>") == 9  # 8 rows, then one of ⋮
    assert cells(html)[:9] == ["0", "1", "2", "3", "4", "5", "6", "7", "…"]
    assert cells(html)[-1] == "⋮"
    html = mg.zeros(2, 2, 2)._repr_html_()
    assert "<pre>tensor([[[0., 0.]," in html and "(2, 2, 2)" in html


def test_a_graph_is_an_svg_picture_when_graphviz_is_there_and_its_dot_text_otherwise(
    monkeypatch,
):
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    w.name = "w"
    graph = Graph((w * 3).sum())
    assert graph.source == viz.to_dot((w * 3).sum())
    assert repr(graph) == graph.source  # what a prompt, or a notebook without Graphviz, shows

    rendered = []

    class FakeSource:
        def __init__(self, source):
            rendered.append(source)

        def pipe(self, format):
            return f"<svg>{format}</svg>".encode()

    monkeypatch.setattr(viz.graph, "_graphviz_renderer", lambda: FakeSource)
    assert graph._repr_svg_() == "<svg>svg</svg>" and rendered == [graph.source]
    monkeypatch.setattr(viz.graph, "_graphviz_renderer", lambda: None)
    assert graph._repr_svg_() is None  # Jupyter then shows the text


@pytest.mark.skipif(
    viz.graph._graphviz_renderer() is None or shutil.which("dot") is None,
    reason="rendering needs Graphviz's `dot` program (apt-get install graphviz) and the graphviz "
    "package; the plumbing is tested above without them",
)
def test_a_graph_renders_as_real_svg():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    w.name = "w"
    svg = Graph((w * 3).sum())._repr_svg_()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and ">w" in svg
