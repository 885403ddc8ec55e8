"""The Gradio web app (app), its handlers (plain Python), views, the whole-letter tab, style and
logins.
"""
