"""Import a script under bench/ (not a package) as a module, for tests of its parts."""

import importlib.util
import sys
from types import ModuleType

from tests.support.paths import PROJECT


def load_bench(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, PROJECT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
