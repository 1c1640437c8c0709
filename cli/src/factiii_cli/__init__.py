"""factiii: scan and fix every stage of the factiii.infra collection from a developer's machine."""

__version__ = '1.0.0'
