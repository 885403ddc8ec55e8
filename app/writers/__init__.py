"""Who writes a draft's text: one writer per provider (extractive, local, openai) behind one
protocol, built by one factory; LangChain's chat models are imported only here.
"""
