"""jaxplay: JAX-native multi-agent games, self-play and population training."""

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
    description="JAX-native multi-agent games, self-play and population training.",
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["jaxplay", "jaxplay.*", "experiments", "experiments.*",
                                    "benchmarks", "benchmarks.*"]),
    package_data={"jaxplay.games": ["data/*.txt"]},
    python_requires=">=3.10",
    install_requires=REQUIREMENTS,
    extras_require={
        # Reference implementations the tests compare against, and the benchmark peers.
        "test": ["pytest==9.2.0", "pytest-xdist==3.8.0", "open_spiel==2.0.2", "pgx==2.6.0",
                 "jaxmarl==0.2.0", "tensorboard==2.21.0"],
    },
)
