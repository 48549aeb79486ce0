"""The public façade: a short, sorted __all__ whose names all import."""

import cors_lab


def test_all_is_sorted_short_and_importable():
    assert cors_lab.__all__ == sorted(cors_lab.__all__)
    assert 5 <= len(cors_lab.__all__) <= 20
    for name in cors_lab.__all__:
        assert getattr(cors_lab, name) is not None


def test_predict_is_exported():
    from cors_lab import OPERATIONS, predict  # noqa: F401
