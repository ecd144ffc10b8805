"""The laptop after the uninstall (side_effect.yml); the helpers are in ../managed_laptop.py."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
