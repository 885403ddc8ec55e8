"""Reading answer letters: raw files → text (read), cleaning (text), the three layouts → Letter +
QA items (parse, committee).
"""
