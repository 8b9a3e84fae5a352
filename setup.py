"""jaxplay: JAX-native multi-agent games and self-play training.

Installs the `jaxplay` package only. The experiment binaries (`experiments/`) and benchmarks
(`benchmarks/`) run from a checkout of the repository (`python -m experiments.train ...` in its
root); they are not installed, so they cannot collide with another project's `experiments`.
"""

import pathlib
import re

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "jaxplay" / "__init__.py").read_text())[1]
REQUIREMENTS = [
    line.strip() for line in (HERE / "requirements.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]

setup(
    name="jaxplay",
    version=VERSION,
    description="JAX-native multi-agent games: exact rules, exact evaluation, PPO self-play.",
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["jaxplay", "jaxplay.*"]),
    package_data={"jaxplay.games": ["data/*.txt"]},
    python_requires=">=3.10",
    install_requires=REQUIREMENTS,
    extras_require={
        # Reference implementations the tests compare against, the benchmark peers, and what
        # tests/test_packaging.py builds its wheel with.
        "test": ["pytest==9.2.0", "pytest-xdist==3.8.0", "open_spiel==2.0.2", "pgx==2.6.0",
                 "jaxmarl==0.2.0", "wheel"],
    },
)
