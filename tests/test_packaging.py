"""What `pip install .` installs: the `jaxplay` package only (never a top-level `experiments`
or `benchmarks`, which would collide with other projects'), with its data files."""

import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

ROOT = pathlib.Path(__file__).parents[1]


def test_the_wheel_holds_jaxplay_only_and_imports_without_the_checkout(tmp_path):
  source = tmp_path / "source"
  source.mkdir()
  for name in ("setup.py", "pyproject.toml", "requirements.txt", "README.md"):
    shutil.copy(ROOT / name, source / name)
  shutil.copytree(ROOT / "jaxplay", source / "jaxplay",
                  ignore=shutil.ignore_patterns("__pycache__"))
  subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "-q", "-w", str(tmp_path / "dist"), str(source)], check=True)
  wheel, = (tmp_path / "dist").glob("jaxplay-*.whl")
  names = zipfile.ZipFile(wheel).namelist()
  top_level = {name.split("/")[0] for name in names}
  assert top_level - {"jaxplay"} == {"jaxplay-{}.dist-info".format(wheel.name.split("-")[1])}
  assert "jaxplay/games/data/bargaining_instances1000.txt" in names
  # Installed on its own (the dependencies come from this environment), away from the checkout.
  site = tmp_path / "site"
  subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                  str(site), str(wheel)], check=True)
  probe = ("import jaxplay, importlib.util; print(jaxplay.__file__); "
           "print(importlib.util.find_spec('experiments'), importlib.util.find_spec('benchmarks'))")
  env = dict(os.environ, PYTHONPATH=str(site))
  out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env,
                       cwd=tmp_path, check=True).stdout.split()
  assert out[1:] == ["None", "None"], out
  jaxplay_file = pathlib.Path(out[0])
  assert site in jaxplay_file.parents or ROOT in jaxplay_file.parents



def test_what_the_readme_runs_after_the_plain_install_is_a_runtime_requirement():
  """`tensorboard --logdir=...` follows `pip install -e .` in the README: not a test extra."""
  requirements = (ROOT / "requirements.txt").read_text().split()
  assert any(line.startswith("tensorboard==") for line in requirements)
  assert "tensorboard" not in (ROOT / "setup.py").read_text().split("extras_require")[1]


def test_the_binaries_outside_the_repository_root_fail_in_one_line(tmp_path):
  """They are not installed: outside a checkout Python says so in one line."""
  result = subprocess.run([sys.executable, "-m", "experiments.train", "--workdir=w",
                           "--config=experiments/configs/kuhn_poker.py"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
  assert result.returncode == 1
  assert result.stderr.strip().splitlines() == [
      f"{sys.executable}: Error while finding module specification for 'experiments.train' "
      "(ModuleNotFoundError: No module named 'experiments')"]
