"""MkDocs hook: the CLI and configuration reference pages are generated from the code at build
time (``codistill.config_docs``), so they cannot drift from it."""

from __future__ import annotations

from mkdocs.structure.files import File


def on_files(files, config):  # noqa: ANN001, ANN201 (mkdocs hook signature)
    from codistill.config_docs import cli_reference, markdown_reference

    for uri, text in (("reference/cli.md", cli_reference()), ("reference/config.md", markdown_reference())):
        files.append(File.generated(config, uri, content=text))
    return files
