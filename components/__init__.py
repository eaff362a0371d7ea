"""Pulumi back ends: one ComponentResource per capability per cloud, composed by a root per cloud.

Components take Plan objects (never raw YAML) and receive their provider from the program.
"""
