#!/usr/bin/env python3
# tools/function_lengths.py — the longest function bodies in C++ sources, by line count from the
# line of the opening brace to the line of the closing one. A reader's rule of thumb for src/train
# and src/digits: none over 80 lines (tests/test_code_shape.cpp runs this with --max 80).
#
#   python3 tools/function_lengths.py [--max N] [--top K] DIR_OR_FILE...
#
# A heuristic, not a parser: strings, characters and comments are blanked, then an opening brace
# at namespace level whose preceding text has a ')' starts a function (lambdas and blocks inside
# it count towards it). Exits 1 when --max is given and a function is longer.
import argparse
import os
import re
import sys


def blank(text):
    text = re.sub(r'/\*.*?\*/', lambda m: '\n' * m.group(0).count('\n'), text, flags=re.S)
    text = re.sub(r'R"(\w*)\((.*?)\)\1"', lambda m: '""' + '\n' * m.group(0).count('\n'), text, flags=re.S)
    text = re.sub(r'//[^\n]*', '', text)
    text = re.sub(r'"(\\.|[^"\\\n])*"', '""', text)
    return re.sub(r"'(\\.|[^'\\\n])*'", "''", text)


def functions(path):
    text = blank(open(path, encoding='utf-8', errors='replace').read())
    found, stack, since = [], [], ''  # stack: (kind, line, name)
    line = 1
    for ch in text:
        if ch == '\n':
            line += 1
        if ch == '{':
            in_function = any(k == 'func' for k, _, _ in stack)
            head = since.strip()
            kind = 'block'
            if not in_function:
                if re.search(r'\b(namespace|struct|class|union|enum)\b[^()]*$', head) or head.endswith('extern ""'):
                    kind = 'scope'
                elif ')' in head and not re.search(r'=\s*$', head):
                    kind = 'func'
            name = re.findall(r'([~\w:]+)\s*\(', head)
            stack.append((kind, line, name[0] if name else '?'))
            since = ''
        elif ch == '}':
            if stack:
                kind, start, name = stack.pop()
                if kind == 'func':
                    found.append((line - start + 1, path, start, name))
            since = ''
        elif ch == ';':
            since = ''
        else:
            since += ch
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--max', type=int)
    ap.add_argument('--top', type=int, default=10)
    ap.add_argument('paths', nargs='+')
    a = ap.parse_args()
    files = []
    for p in a.paths:
        if os.path.isfile(p):
            files.append(p)
        for root, _, names in os.walk(p):
            files += [os.path.join(root, n) for n in names if n.endswith(('.cpp', '.h', '.cu'))]
    found = sorted((f for path in sorted(files) for f in functions(path)), reverse=True)
    over = [f for f in found if a.max is not None and f[0] > a.max]
    for n, path, start, name in (over if a.max is not None else found[:a.top]):
        print(f'{n:5d} lines  {path}:{start}  {name}')
    if a.max is not None:
        print(f'{len(over)} function(s) over {a.max} lines in {len(files)} files')
    return 1 if over else 0


if __name__ == '__main__':
    sys.exit(main())
