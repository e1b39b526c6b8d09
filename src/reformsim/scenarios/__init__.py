"""Scenario files (YAML, ``.cin``) -> frozen ScenarioSet -> members of one ensemble.

``spec`` holds the data and its errors; ``yaml_format``/``cin_format`` read files;
``loading`` combines them; ``checks`` validates links and names; ``sampling`` draws
uncertainty; ``ensemble`` expands scenario x sample into one simulate call.
"""
