import sys, importlib.abc, importlib.machinery
from unittest import mock

class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """alibi's package imports spaCy (and text models) at import time; AnchorTabular uses none of them."""
    prefixes = ("spacy", "transformers")
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in self.prefixes:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None
    def create_module(self, spec):
        m = mock.MagicMock(name=spec.name)
        m.__path__ = []
        m.__spec__ = spec
        return m
    def exec_module(self, module):
        pass

sys.meta_path.insert(0, _StubFinder())
