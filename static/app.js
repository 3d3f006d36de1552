"use strict"; // hookscope inspector
