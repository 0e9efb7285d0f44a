"""The run engine: every workflow run (definition runs and named runs), persisted step by step.

``engine.Engine`` is built by the emulator with its policies (concurrency, budgets, input
resolvers); the executors, node types, the registry of named workflows and the run views are
the parts it is made of.
"""
