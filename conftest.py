"""pytest's command-line options. They live here, at the root, not in tests/: pytest reads this file whatever
paths it is given, so ``--screenshots figures/ui/`` is not taken for a folder of tests to run."""


def pytest_addoption(parser):
    parser.addoption("--screenshots", metavar="DIR", default=None,
                     help="also write the browser test's screenshots into DIR (the README's: figures/ui/)")
    parser.addoption("--compare-store", metavar="DIR", default=None,
                     help="the browser test opens the comparison notebook on this run store's cpu-preset runs "
                          "(the README's screenshot: runs/) instead of smoke runs it trains")
