"""Text generation backends for the answer pipeline (plain Python, no Django).

The answer issue adds the in-process GGUF (llama.cpp), transformers + PEFT, OpenAI-compatible and
extractive backends behind one interface. Until then the portal shows retrieved passages only and
says so on the page.
"""
