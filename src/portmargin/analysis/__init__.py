"""Analyses built on pricing and margin: chain repricing, conformance checks, stress, what-if."""

from portmargin.analysis._chain import ChainRow, ChainSummary, reprice_chain, summarise_chain

__all__ = ["ChainRow", "ChainSummary", "reprice_chain", "summarise_chain"]
