"""The wasmtime host of the ``ig`` ABI: the smoke stage and the latency benchmark.

``host`` is the ``ig`` module over in-memory data sources, ``instance`` loads a module
the way Inspektor Gadget does, ``smoke`` plays a gadget's scenario, ``bench`` measures.
Nothing is imported here, so that loading the package costs nothing until wasmtime runs.
"""
