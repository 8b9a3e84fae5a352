"""The README's Python examples run as written (kept true by the test suite)."""

import pathlib
import re

README = pathlib.Path(__file__).parent.parent / "README.md"


def test_readme_python_examples_run(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)  # the examples may write files
  blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
  assert blocks, "the README has no Python examples"
  namespace = {}
  for block in blocks:
    exec(compile(block, str(README), "exec"), namespace)  # noqa: S102  (our own README)
