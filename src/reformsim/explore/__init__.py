"""The live explorer: a local web page with a slider per lever, redrawing KPIs on every move.

``session`` is the model side (presets, levers, one simulate call per move), ``levers``
which constants get a slider and over what range, ``page`` the Bokeh document a browser
sees, ``server`` serves it on 127.0.0.1.
"""
