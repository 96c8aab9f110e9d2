"""Replaces (or appends) one generated block of docs/benchmarks.md.

usage: python3 bench/write_block.py DOC NAME HEADING INTRO < block
The block text (read from stdin) goes between <!-- bench:NAME:begin --> and
<!-- bench:NAME:end -->. When the markers are not in DOC yet, a section
"## HEADING" with the paragraph INTRO is appended with them. Prints the block.
"""
import os
import re
import sys


def main():
    doc, name, heading, intro = sys.argv[1:5]
    block = sys.stdin.read().rstrip("\n")
    begin, end = f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"
    text = open(doc).read() if os.path.exists(doc) else "# zengen benchmarks\n"
    if begin in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end),
                      lambda m: begin + "\n" + block + "\n" + end, text, flags=re.S)
    else:
        text += f"\n## {heading}\n\n{intro}\n\n{begin}\n{block}\n{end}\n"
    with open(doc, "w") as f:
        f.write(text)
    print(block)


if __name__ == "__main__":
    main()
