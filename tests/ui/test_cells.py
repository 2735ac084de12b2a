"""A table cell renders itself (``{{ cell }}``): the markup ``ui/_cell.html`` gave, values escaped."""
from apps.core.ui.cells import Cell


def test_a_cell_renders_its_kind_of_markup_with_its_values_escaped():
    assert str(Cell("web <1>", href="/ui/vm-instances/x/", title='a "b"')) == (
        '<a href="/ui/vm-instances/x/" title="a &quot;b&quot;">web &lt;1&gt;</a>')
    assert str(Cell("Running", badge="green")) == '<span class="badge bg-green-lt">Running</span>'
    assert str(Cell('{"a": 1}', code=True)) == '<code class="text-wrap">{&quot;a&quot;: 1}</code>'
    assert str(Cell("—")) == "<span>—</span>"
    listed = Cell(items=[Cell("10.0.0.1", title="fa:01"), Cell("10.0.0.2"),
                         Cell("x", badge="azure"), Cell("y", badge="azure")])
    assert str(listed) == ('<span title="fa:01">10.0.0.1</span>, <span>10.0.0.2</span>, '
                           '<span class="badge bg-azure-lt">x</span><span class="badge bg-azure-lt">y</span>')


def test_the_cell_template_shows_the_same_markup():
    from django.template.loader import render_to_string

    cell = Cell("<host>", href="/h/", title="u")
    assert render_to_string("ui/_cell.html", {"cell": cell}).strip() == str(cell)
