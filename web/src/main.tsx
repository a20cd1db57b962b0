import { render } from "preact";
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { App } from "./app.tsx";
import { currentLang } from "./i18n.ts";

document.documentElement.lang = currentLang();
const root = document.getElementById("app");
if (root) render(<App />, root);
