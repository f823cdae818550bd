import pytest

from tests.results.synthetic import build, make_records


@pytest.fixture(scope="session")
def pool():
    return make_records()


@pytest.fixture(scope="session")
def full(tmp_path_factory, pool):
    root = tmp_path_factory.mktemp("full")
    build(root, pool)
    return root
