"""shapes - the token shape of C code, for the handout's leak check: a
region of a solution is found again wherever the same sequence of tokens
appears with identifiers, numbers and strings abstracted, so a copy with
its variables renamed still matches. Python 3 standard library only.

A shape is a window of WINDOW consecutive tokens. C keywords, operators and
punctuation stay as they are; so does the name of a function where it is
called (an identifier followed by "("): a copy of an answer calls the same
given functions (pacer_due(), shard_deliver(), ...) whatever it names its
variables, while a loop header followed by a call of another function is
another piece of code, not a copy. Every other identifier becomes I, every
number N, every string or character literal S; comments are dropped. A
window made only of plain copies (x->f = y->g; ...) is no shape: it holds
no logic to give away.
"""
import re

WINDOW = 24  # tokens: about two lines of C; idioms shorter than that are not answers

KEYWORDS = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern",
    "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed",
    "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "bool",
    "true", "false", "NULL",
}

TOKEN = re.compile(r"""
    (?P<comment>/\*.*?\*/|//[^\n]*)
  | (?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
  | (?P<number>\b(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)[uUlLfF]*\b)
  | (?P<ident>[A-Za-z_]\w*)
  | (?P<op>->|\+\+|--|<<=|>>=|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^!~<>=]=?|[{}()\[\];,.?:])
""", re.S | re.X)


def tokens(text):
    """The abstracted token list of text."""
    toks = [(m.lastgroup, m.group()) for m in TOKEN.finditer(text) if m.lastgroup != "comment"]
    out = []
    for i, (kind, tok) in enumerate(toks):
        if kind == "string":
            out.append("S")
        elif kind == "number":
            out.append("N")
        elif kind == "ident":
            called = i + 1 < len(toks) and toks[i + 1][1] == "("
            out.append(tok if tok in KEYWORDS or called else "I")
        else:
            out.append(tok)
    return out


# The tokens of plain copies (a = b; x->f = y->g; s.f = t.f;). A window of
# nothing else is a run of field copies: every program that moves a record
# from one struct to another has one, and it answers nothing.
COPY_TOKENS = {"I", "->", ".", "=", ";"}


def windows(toks):
    """Every WINDOW-token shape of toks that is not only plain copies, as
    hashable tuples."""
    shapes = (tuple(toks[i:i + WINDOW]) for i in range(len(toks) - WINDOW + 1))
    return {w for w in shapes if not COPY_TOKENS.issuperset(w)}


def render(shape):
    return " ".join(shape)
