"""Names the tests use in ways vulture cannot see (bin/lint runs vulture over tests/ with this file;
nothing imports it).

pytest passes a fixture to the tests that name it as a parameter, or to every test of a module when it
is ``autouse``, so neither the fixture function nor the parameter is read in Python; PyAV reads the
attributes the tests set on its frames. Reading the names below is what counts for vulture.
"""

from types import SimpleNamespace

_ = SimpleNamespace(one_thread=None, few_steps=None, sample_rate=None, pytestmark=None)
_used = (
    _.one_thread,  # fixture in conftest.py: test_archive_damage.py (usefixtures), test_image_*.py (by name)
    _.few_steps,  # fixture: test_image_refine.py (requested by name)
    _.pytestmark,  # read by pytest: test_archive_damage.py
    _.sample_rate,  # av.AudioFrame.sample_rate, read by PyAV's encoder: test_media.py
)
