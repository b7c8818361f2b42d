"""The full-screen cockpit: the Textual app, its screens and widgets, and the view model
they draw from. Imported only by the sub-commands that open it (see ``cockpit.main``)."""
